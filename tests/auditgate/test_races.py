"""Concurrent decisions on PostgreSQL: each patch applies once, one of two rivals wins, log verifies."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection

from audit.reviews import ReviewRefused, review_record
from patches.lifecycle import TransitionError
from patches.models import Event, Proposal, ProposalStatus, TargetVersion
from tests.auditgate.conftest import approve, gate_pass, proposal_make, routing_target, weight
from tests.auditgate.test_reviews import chain_verifies

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROUNDS = 100


def approving(proposal_id: int, user_id: int) -> Callable[[], str]:
    """A decision loaded up front (so the barrier releases straight into review_record)."""
    proposal = Proposal.objects.get(pk=proposal_id)
    reviewer = User.objects.get(pk=user_id)

    def decide() -> str:
        try:
            review_record(
                proposal=proposal, reviewer=reviewer, decision="approve", reason="Ship it.",
                patch_hash=proposal.patch_hash, base_content_hash=proposal.base_content_hash,
            )  # fmt: skip
        except ReviewRefused as exc:
            return f"refused: {exc}"
        return "recorded"

    return decide


def passing_gate(proposal_id: int) -> Callable[[], str]:
    proposal = Proposal.objects.get(pk=proposal_id)

    def finish() -> str:
        try:
            gate_pass(proposal)
        except TransitionError as exc:
            return f"refused: {exc}"
        return "passed"

    return finish


def race(*calls: tuple[int, int]) -> list[str]:
    """Run each (proposal_id, user_id) approval in its own thread and connection at once."""
    return race_calls(*(lambda p=p, u=u: approving(p, u) for p, u in calls))


def race_calls(*preparers: Callable[[], Callable[[], str]]) -> list[str]:
    """Prepare each call in its own thread and connection, then release them all at once."""
    barrier = threading.Barrier(len(preparers))
    outcomes: list[str] = [""] * len(preparers)

    def run(index: int, prepare: Callable[[], Callable[[], str]]) -> None:
        try:
            call = prepare()
            barrier.wait(timeout=10)
            outcomes[index] = call()
        except Exception as exc:  # surfaced by the assertions below
            outcomes[index] = f"error: {exc!r}"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, prepare))
        for index, prepare in enumerate(preparers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_two_reviewers_giving_the_last_approval_at_once_apply_the_patch_exactly_once(
    agent, rita, rob, ruth
):
    target = routing_target(required_approvals=2)
    started = time.monotonic()
    for round_ in range(ROUNDS):
        proposal = proposal_make(agent, target, weight("billing", 1.0 + (round_ + 1) / 1000))
        approve(proposal, rita)
        outcomes = race((proposal.pk, rob.pk), (proposal.pk, ruth.pk))
        assert sorted(outcomes) == [
            "recorded", "refused: This proposal is applied; only proposals in review can be decided.",
        ], outcomes  # fmt: skip
        proposal.refresh_from_db()
        assert proposal.status == ProposalStatus.APPLIED
        assert proposal.reviews.count() == 2
    elapsed = time.monotonic() - started
    target.refresh_from_db()
    assert target.version == 1 + ROUNDS
    applied = list(Event.objects.filter(kind="PatchApplied").values_list("payload", flat=True))
    assert len(applied) == ROUNDS
    assert TargetVersion.objects.filter(target=target).count() == 1 + ROUNDS
    assert Proposal.objects.filter(status=ProposalStatus.APPLIED).count() == ROUNDS
    assert chain_verifies()
    out = StringIO()
    call_command("verify_log", stdout=out)
    assert out.getvalue().startswith(f"OK {Event.objects.count()} events")
    print(f"{ROUNDS} rounds in {elapsed:.1f}s")


def test_two_proposals_on_one_base_reaching_quorum_together_apply_once_and_the_other_goes_stale(
    agent, rob, ruth
):
    target = routing_target()
    for round_ in range(20):
        first = proposal_make(agent, target, weight("billing", 2.0 + round_))
        second = proposal_make(agent, target, weight("tech", 2.0 + round_))
        outcomes = race((first.pk, rob.pk), (second.pk, ruth.pk))
        first.refresh_from_db()
        second.refresh_from_db()
        winner, loser = (
            (first, second) if first.status == ProposalStatus.APPLIED else (second, first)
        )
        assert (winner.status, loser.status, loser.stage) == ("applied", "stale", ""), outcomes
        stale = Event.objects.get(kind="PatchStale", proposal=loser)
        assert stale.actor == "system:apply"
        assert stale.payload_value["current_version"] == loser.base_version + 1
        # The loser's approval is kept (for a rebased revision that makes the same change).
        assert outcomes == ["recorded", "recorded"]
        assert loser.reviews.filter(decision="approve").count() == 1
    target.refresh_from_db()
    assert target.version == 21
    assert Event.objects.filter(kind="PatchApplied").count() == 20
    assert chain_verifies()


def test_a_gate_passing_while_an_apply_rejects_its_proposal_as_stale_does_not_deadlock(agent, rob):
    target = routing_target()
    for round_ in range(20):
        applying = proposal_make(agent, target, weight("billing", 2.0 + round_))
        gated = proposal_make(agent, target, weight("tech", 2.0 + round_), passed=False)
        outcomes = race_calls(
            partial(approving, applying.pk, rob.pk), partial(passing_gate, gated.pk)
        )
        assert outcomes[0] == "recorded", outcomes
        assert outcomes[1] in (
            "passed",
            f"refused: proposal {gated.pk} is stale; this needs testing",
        ), outcomes
        gated.refresh_from_db()
        assert (gated.status, gated.stage) == ("stale", "")
    assert chain_verifies()
