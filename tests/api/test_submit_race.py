"""Two identical submissions at once: exactly one 201 and one 409, one stored proposal."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from patches.models import Event, Proposal
from tests.api.conftest import assert_problem
from tests.factories import (
    ROUTING,
    counts,
    make_agent,
    make_target,
    proposal_body,
    signed_envelope,
    threshold_patch,
)


@pytest.mark.django_db(transaction=True)
def test_two_identical_submissions_at_once_give_one_201_and_one_409(monkeypatch):
    # The gate itself is not under test here; committed proposals would otherwise run it.
    monkeypatch.setattr("audit.gates._publish", lambda proposal_id: None)
    persona = make_agent("racer")
    target = make_target(name="router", patch_type="Routing", content=ROUTING)
    body = json.dumps(
        signed_envelope(persona, proposal_body(target=target, patch=threshold_patch()))
    )
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def submit() -> None:
        try:
            barrier.wait(timeout=10)
            response = Client().post(
                "/api/v1/proposals", data=body, content_type="application/json", **persona.auth
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [201, 409]
    assert Proposal.objects.count() == 1
    assert Event.objects.filter(kind="PatchProposed").count() == 1


def test_a_duplicate_that_slips_past_the_replay_check_is_refused_by_the_database(
    api, good_envelope, monkeypatch
):
    envelope = good_envelope()
    assert api.submit(envelope).status_code == 201
    # What the loser of a race sees: the check found nothing, the unique constraint fires.
    monkeypatch.setattr("patches.submit._check_not_replayed", lambda **kwargs: None)
    before = counts()
    assert_problem(api.submit(envelope), 409, "replayed-nonce")
    assert counts() == before
