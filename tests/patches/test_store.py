"""The pipelined store (PostgreSQL): the ORM path's rows, and one chain under concurrency."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.db.models import Model
from django.test import Client

from audit.log import event_append
from audit.models import Event
from audit.verify import verify_chain
from patches.canonical import sha256_hash
from patches.door import door_facts
from patches.models import Proposal, Signature, TestResult, TestRun
from patches.store import Accepted, _store_orm
from patches.submit import envelope_parse, proposal_submit
from patches.testgate.schedule import resolve_tests
from tests.factories import (
    ROUTING,
    make_agent,
    make_target,
    make_test,
    proposal_body,
    signed_envelope,
    threshold_patch,
)

# Per model, the columns that differ between two submissions by design (ids, what is signed,
# when it happened); every other column must be equal.
DIFFERENT = {
    Proposal: {"id", "envelope", "patch_hash", "nonce", "patch", "created_at", "updated_at"},
    Signature: {"id", "proposal_id", "value", "verified_at"},
    TestRun: {"id", "proposal_id", "patch_hash", "enqueued_at"},
    TestResult: {"id", "run_id"},
    Event: {"seq", "prev_hash", "hash", "created_at", "proposal_id", "payload"},
}


def _rows(model: type[Model], **filters: Any) -> list[dict[str, Any]]:
    ordering = "position" if model is TestResult else "pk"
    return [
        {name: value for name, value in row.items() if name not in DIFFERENT[model]}
        for row in model.objects.filter(**filters).order_by(ordering).values()
    ]


def _everything_stored_for(proposal: Proposal) -> dict[str, Any]:
    event = Event.objects.get(proposal=proposal, kind="PatchProposed")
    payload = json.loads(event.payload)
    assert payload.pop("patch_hash") == proposal.patch_hash
    assert payload.pop("proposal") == proposal.pk
    return {
        "proposal": _rows(Proposal, pk=proposal.pk),
        "signature": _rows(Signature, proposal=proposal),
        "run": _rows(TestRun, proposal=proposal),
        "results": _rows(TestResult, run__proposal=proposal),
        "event": _rows(Event, pk=event.pk),
        "payload": payload,
    }


@pytest.mark.postgres
@pytest.mark.django_db
def test_it_writes_every_column_as_the_orm_path_does():
    for name in ("mandatory", "requested"):
        make_test(name, "json_schema", {"schema": {"type": "object"}})
    target = make_target(name="router", patch_type="Routing", content=ROUTING, tests=["mandatory"])
    persona = make_agent()

    def body(value: float) -> str:
        proposal = proposal_body(
            target=target,
            patch=threshold_patch(value),
            reasoning='Tighter routing: "quotes", é, 😀',
            test_requirements=["requested"],
        )
        return json.dumps(signed_envelope(persona, proposal))

    pipelined = proposal_submit(agent=persona.agent, body=body(2.0))
    # The ORM path, given the same facts the submit gathers.
    raw = body(3.0)
    envelope = envelope_parse(raw)
    patch_hash = sha256_hash(envelope.signed)
    _, facts = door_facts(
        caller=persona.agent,
        target=target.name,
        key_id=envelope.key_id,
        nonce=envelope.proposal["nonce"],
        patch_hash=patch_hash,
        pending_limit=50,
    )
    assert facts is not None and facts.key is not None
    orm = _store_orm(
        Accepted(
            proposal_id=None,
            agent=persona.agent,
            key=facts.key,
            target=facts.target,
            base=facts.base,
            envelope=raw,
            fields=envelope.proposal,
            patch_hash=patch_hash,
            algorithm=envelope.algorithm,
            signature=envelope.signature,
            tests=resolve_tests(target=facts.target, requested=["requested"]),
        )
    )
    stored = _everything_stored_for(pipelined)
    assert stored == _everything_stored_for(orm)
    assert [row["name"] for row in stored["results"]] == ["mandatory", "requested"]
    # What the service returns is what it stored.
    returned = {f.attname: getattr(pipelined, f.attname) for f in Proposal._meta.concrete_fields}
    assert returned == Proposal.objects.values().get(pk=pipelined.pk)
    assert verify_chain(strict=True).ok


SUBMITTERS = 4
SUBMISSIONS_EACH = 6
APPENDERS = 2
APPENDS_EACH = 6


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_and_other_writers_make_one_verifying_chain(monkeypatch):
    # The gates are not under test; committed proposals would otherwise run them inline.
    monkeypatch.setattr("patches.testgate.schedule._enqueue", lambda proposal_id: None)
    target = make_target(name="router", patch_type="Routing", content=ROUTING)
    personas = [make_agent(f"agent-{n}") for n in range(SUBMITTERS)]
    bodies = [
        [
            json.dumps(
                signed_envelope(
                    persona, proposal_body(target=target, patch=threshold_patch(2 + n + i / 100))
                )
            )
            for i in range(SUBMISSIONS_EACH)
        ]
        for n, persona in enumerate(personas)
    ]
    barrier = threading.Barrier(SUBMITTERS + APPENDERS)
    statuses: list[int] = []
    failures: list[BaseException] = []

    def submit(persona: Any, mine: list[str]) -> None:
        try:
            barrier.wait(timeout=10)
            client = Client()
            for body in mine:
                response = client.post(
                    "/api/v1/proposals", data=body, content_type="application/json", **persona.auth
                )
                statuses.append(response.status_code)
        except BaseException as exc:  # reported below: a thread cannot fail the test itself
            failures.append(exc)
        finally:
            connection.close()

    def append(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            for i in range(APPENDS_EACH):
                event_append(kind="Thing", actor=f"user:writer-{n}", payload={"i": i})
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=submit, args=(persona, mine))
        for persona, mine in zip(personas, bodies, strict=True)
    ] + [threading.Thread(target=append, args=(n,)) for n in range(APPENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    close_old_connections()
    assert not failures, failures
    assert statuses == [201] * (SUBMITTERS * SUBMISSIONS_EACH)
    proposed = Event.objects.filter(kind="PatchProposed")
    assert proposed.count() == SUBMITTERS * SUBMISSIONS_EACH
    assert set(proposed.values_list("proposal_id", flat=True)) == set(
        Proposal.objects.values_list("pk", flat=True)
    )
    assert Event.objects.filter(kind="Thing").count() == APPENDERS * APPENDS_EACH
    seqs = list(Event.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    verified = verify_chain(strict=True)
    assert verified.ok, verified.message
