"""The database failing during a submit: a clear 503 problem+json, and nothing half-stored."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client

from tests.factories import (
    ROUTING,
    AgentPersona,
    counts,
    make_agent,
    make_target,
    make_test,
    proposal_body,
    signed_envelope,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def smith(db: None) -> AgentPersona:
    return make_agent("agent-smith")


@pytest.fixture
def body(smith: AgentPersona) -> str:
    # A mandatory test, so the submit also writes a pending TestResult row.
    make_test("routing-is-json", "json_schema", {"schema": {"type": "object"}})
    target = make_target(
        name="router", patch_type="Routing", content=ROUTING, tests=["routing-is-json"]
    )
    patch = json.dumps([{"op": "replace", "path": "/threshold", "value": 2.0}])
    return json.dumps(signed_envelope(smith, proposal_body(target=target, patch=patch)))


def _post(body: str, smith: AgentPersona) -> Any:
    client = Client(raise_request_exception=False)
    return client.post(
        "/api/v1/proposals", data=body, content_type="application/json", **smith.auth
    )


def _assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, f"{response.status_code}: {response.content[:300]!r}"
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 503
    assert problem["title"] and problem["detail"]
    # The agent should retry later, and be told so.
    assert "Retry-After" in response


@contextmanager
def _failing_sql(when: Callable[[str], bool], error: type[Exception]) -> Iterator[None]:
    """Every statement for which when(sql) holds raises error, as a lost connection would."""

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if when(sql):
            raise error("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_database_that_is_down_gives_503(body, smith, monkeypatch, error):
    before = counts()

    def down(self: BaseDatabaseWrapper, *args: Any, **kwargs: Any) -> Any:
        raise error("could not connect to server: Connection refused")

    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", down)
    response = _post(body, smith)
    monkeypatch.undo()
    assert counts() == before
    _assert_unavailable(response)


@pytest.mark.parametrize(
    "table",
    [
        "patches_proposal",
        "patches_signature",
        "audit_event",
        "patches_testrun",
        "patches_testresult",
    ],
)
def test_a_connection_lost_mid_submit_stores_nothing(body, smith, table):
    before = counts()
    # On PostgreSQL one statement inserts into several tables (patches.store): fail it too.
    inserts = re.compile(rf'INSERT INTO "?{table}"? ')
    with _failing_sql(lambda sql: inserts.search(sql) is not None, OperationalError):
        response = _post(body, smith)
    stored = counts()
    # The same signed envelope goes through once the database is back: no nonce was burnt.
    recovered = _post(body, smith)
    assert stored == before, f"half-stored after the insert into {table} failed"
    assert recovered.status_code == 201, recovered.content
    _assert_unavailable(response)
