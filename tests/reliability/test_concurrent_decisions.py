"""Submits, gates and reviews racing on one target never deadlock or fail (PostgreSQL)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from django.db import DatabaseError, close_old_connections, connection

from audit.gates import proposal_submit_and_gate
from audit.reviews import ReviewRefused, review_record
from patches.models import Proposal, ProposalStatus, Target
from patches.submit import SubmitRefused
from tests.factories import (
    ROUTING,
    make_agent,
    make_reviewer,
    make_target,
    proposal_body,
    signed_envelope,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SECONDS = 8
SUBMITTERS = 2
REVIEWERS = 2


def _submitter(
    persona: Any, target_id: int, stop: float, errors: list[str], counter: list[int]
) -> None:
    try:
        n = 0
        while time.monotonic() < stop:
            n += 1
            target = Target.objects.get(pk=target_id)
            patch = json.dumps([{"op": "replace", "path": "/threshold", "value": 1.0 + n / 1000}])
            body = json.dumps(signed_envelope(persona, proposal_body(target=target, patch=patch)))
            try:
                proposal_submit_and_gate(
                    agent=persona.agent, body=body
                )  # the gate runs eagerly on commit
                counter[0] += 1
            except SubmitRefused:
                pass  # stale base or too many pending: expected under the race
    except DatabaseError as exc:
        errors.append(f"submit: {exc}".splitlines()[0])
    finally:
        connection.close()


def _reviewer(user: Any, stop: float, errors: list[str]) -> None:
    try:
        while time.monotonic() < stop:
            for proposal in Proposal.objects.filter(status=ProposalStatus.IN_REVIEW).order_by("pk")[
                :10
            ]:
                try:
                    review_record(
                        proposal=proposal,
                        reviewer=user,
                        decision="approve",
                        reason="race",
                        patch_hash=proposal.patch_hash,
                        base_content_hash=proposal.base_content_hash,
                    )
                except ReviewRefused:
                    pass
                except DatabaseError as exc:
                    errors.append(f"review: {exc}".splitlines()[0])
            time.sleep(0.005)
    finally:
        connection.close()


def test_racing_submits_gates_and_reviews_on_one_target_never_deadlock():
    target = make_target(name="router", patch_type="Routing", content=ROUTING)
    agents = [make_agent(f"agent-{n}") for n in range(SUBMITTERS)]
    reviewers = [make_reviewer(f"reviewer-{n}") for n in range(REVIEWERS)]
    errors: list[str] = []
    accepted = [0]
    stop = time.monotonic() + SECONDS
    threads = [
        threading.Thread(target=_submitter, args=(a, target.pk, stop, errors, accepted))
        for a in agents
    ]
    threads += [threading.Thread(target=_reviewer, args=(r, stop, errors)) for r in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 60)
    close_old_connections()
    assert accepted[0] > 0
    assert not errors, f"{len(errors)} database errors under the race, e.g. {errors[:3]}"
