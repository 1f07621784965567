"""GET /healthz reports the database, the broker and the workers."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from console.models import WorkerHeartbeat
from console.tasks import heartbeat


@pytest.mark.django_db
def test_it_reports_workers_down_until_a_heartbeat_arrives(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"]["status"] == "up"
    assert body["broker"]["status"] == "up"
    assert body["workers"]["status"] == "down"

    heartbeat()  # what the worker's beat schedule runs every WORKER_HEARTBEAT_S

    body = client.get("/healthz").json()
    assert body["workers"]["status"] == "up"
    assert len(body["workers"]["alive"]) == 1


@pytest.mark.django_db
def test_a_worker_that_has_not_answered_recently_shows_as_down(client, settings):
    WorkerHeartbeat.objects.create(
        worker="old", seen_at=timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_S * 4)
    )
    body = client.get("/healthz").json()
    assert body["workers"]["status"] == "down"
    assert body["workers"]["alive"] == []


@pytest.mark.django_db
def test_it_answers_503_when_the_database_is_down(client):
    with mock.patch.object(connection, "cursor", side_effect=RuntimeError("connection refused")):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == {"status": "down", "error": "connection refused"}
    assert body["workers"]["status"] == "unknown"


@pytest.mark.django_db
def test_it_reports_an_unreachable_broker_as_down(client):
    with mock.patch("console.health.app.connection_for_write", side_effect=OSError("no route")):
        body = client.get("/healthz").json()
    assert body["broker"]["status"] == "down"
    assert "no route" in body["broker"]["error"]


def test_it_refuses_post(client):
    assert client.post("/healthz").status_code == 405
