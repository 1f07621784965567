"""Redis restarted with gates queued (its messages lost): the sweep re-finds every gate."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from celery.signals import after_task_publish, before_task_publish
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone

from audit.gates import gates_sweep, run_gates
from console.celery import app as celery_app
from patches.models import Event, Proposal, ProposalStatus
from tests.factories import ROUTING, make_agent, make_target, proposal_body, signed_envelope
from tests.reliability.conftest import PrivateRedis, worker_start, worker_stop

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

GATES = 4
SETTLE_S = 45


@pytest.fixture
def broker(private_redis: PrivateRedis, monkeypatch: Any, settings: Any) -> PrivateRedis:
    """Gates go to the private Redis; each enqueue opens a fresh connection, as a web process
    whose broker just restarted would."""
    celery_app.conf.task_always_eager = False
    settings.GATE_REQUEUE_AFTER_S = 1

    def send(proposal_id: int) -> None:
        with celery_app.connection_for_write(private_redis.url) as connection:
            run_gates.apply_async(args=[proposal_id], connection=connection, retry=False)

    monkeypatch.setattr(run_gates, "delay", send)
    monkeypatch.setenv("CELERY_BROKER_URL", private_redis.url)  # what conf.broker_url reads first
    return private_redis


def _submit(client: Client, persona: Any, target: Any, value: float) -> Any:
    target.refresh_from_db()
    patch = json.dumps([{"op": "replace", "path": "/threshold", "value": value}])
    envelope = signed_envelope(persona, proposal_body(target=target, patch=patch))
    return client.post(
        "/api/v1/proposals",
        data=json.dumps(envelope),
        content_type="application/json",
        **persona.auth,
    )


def _decided(ids: list[int]) -> bool:
    close_old_connections()
    return not Proposal.objects.filter(pk__in=ids, status=ProposalStatus.TESTING).exists()


def _sweep_until_decided(ids: list[int], worker_log: Any, broker: PrivateRedis) -> None:
    worker = worker_start(broker.url, worker_log)
    try:
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline and not _decided(ids):
            time.sleep(0.3)
    finally:
        worker_stop(worker)
    stuck = list(
        Proposal.objects.filter(pk__in=ids, status=ProposalStatus.TESTING).values_list(
            "pk", flat=True
        )
    )
    assert not stuck, f"gates never finished for {stuck}:\n{worker_log.read_text()[-3000:]}"


def _one_gate_outcome_each(ids: list[int]) -> None:
    for proposal_id in ids:
        outcomes = Event.objects.filter(
            proposal_id=proposal_id, kind__in=["TestGatePassed", "PatchRejected"]
        ).count()
        assert outcomes == 1, f"proposal {proposal_id} has {outcomes} gate outcomes"


def test_gate_tasks_go_through_celerys_publish_so_its_signals_fire(broker):
    published: list[tuple[str, str]] = []

    def before(sender: str, **_: Any) -> None:
        published.append(("before", sender))

    def after(sender: str, **_: Any) -> None:
        published.append(("after", sender))

    before_task_publish.connect(before, weak=False)
    after_task_publish.connect(after, weak=False)
    try:
        persona = make_agent("agent-smith")
        target = make_target(name="router", patch_type="Routing", content=ROUTING)
        assert _submit(Client(), persona, target, 2.0).status_code == 201
    finally:
        before_task_publish.disconnect(before)
        after_task_publish.disconnect(after)
    assert published == [("before", "audit.run_gates"), ("after", "audit.run_gates")]
    assert broker.queue_length() == 1


def test_gates_queued_before_a_redis_restart_are_refound_by_the_sweep(broker, tmp_path):
    persona = make_agent("agent-smith")
    client = Client()
    ids = []
    for n in range(GATES):
        target = make_target(name=f"router-{n}", patch_type="Routing", content=ROUTING)
        response = _submit(client, persona, target, 2.0 + n)
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    assert broker.queue_length() == GATES

    broker.stop()
    broker.start()
    assert broker.queue_length() == 0, "the restart was meant to lose the queued messages"

    later = timezone.now() + timedelta(seconds=5)
    assert sorted(gates_sweep(now=later)) == sorted(ids)
    assert broker.queue_length() == GATES
    _sweep_until_decided(ids, tmp_path / "worker.log", broker)
    _one_gate_outcome_each(ids)


def test_a_proposal_submitted_while_redis_is_down_is_accepted_and_gated_after_it_returns(
    broker, tmp_path
):
    """The proposal and its queued gate run (the outbox) commit before the publish; a broker
    outage must not turn an accepted proposal into an error (the agent would resubmit into a
    replay refusal)."""
    persona = make_agent("agent-smith")
    target = make_target(name="router", patch_type="Routing", content=ROUTING)
    broker.stop()
    response = _submit(Client(raise_request_exception=False), persona, target, 3.0)
    stored = list(Proposal.objects.values_list("pk", flat=True))
    broker.start()
    assert response.status_code == 201, response.content
    assert stored == [response.json()["id"]]
    assert broker.queue_length() == 0, "nothing could be published while Redis was down"
    assert gates_sweep(now=timezone.now() + timedelta(seconds=5)) == stored
    assert broker.queue_length() == 1
    _sweep_until_decided(stored, tmp_path / "worker.log", broker)
    _one_gate_outcome_each(stored)
