"""Concurrent submits and other log writers (PostgreSQL): one chain, every seq once, each
PatchProposed naming its stored proposal, and time that never runs backwards along seq."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.test import Client

from audit.verify import verify_chain
from patches.log import event_append
from patches.models import Event, Proposal
from tests.factories import (
    ROUTING,
    make_agent,
    make_target,
    proposal_body,
    signed_envelope,
    threshold_patch,
)

SUBMITTERS = 4
SUBMISSIONS_EACH = 6
APPENDERS = 2
APPENDS_EACH = 6


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_and_other_writers_make_one_verifying_chain(monkeypatch):
    # The gates are not under test; committed proposals would otherwise run them inline.
    monkeypatch.setattr("audit.gates._publish", lambda proposal_id: None)
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
    stamps = list(Event.objects.order_by("seq").values_list("created_at", flat=True))
    assert stamps == sorted(stamps)
