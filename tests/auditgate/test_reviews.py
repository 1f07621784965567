"""Recording reviews: reasons, hashes, one reject rejects, quorum applies, others go stale."""

from __future__ import annotations

import json

import pytest

from audit.models import Review
from audit.reviews import CHANGED_SINCE_LOADED, ReviewRefused, review_record, review_state
from audit.verifier import event_hash
from patches.agents import agent_key_revoke
from patches.canonical import format_timestamp
from patches.chain import GENESIS_PREV_HASH
from patches.models import Event, ProposalStatus, TargetVersion
from tests.auditgate.conftest import (
    approve,
    json_patch,
    proposal_make,
    reject,
    routing_target,
    weight,
)

pytestmark = pytest.mark.django_db


def chain_verifies() -> bool:
    prev = GENESIS_PREV_HASH
    for event in Event.objects.order_by("seq"):
        expected = event_hash(
            seq=event.seq,
            kind=event.kind,
            actor=event.actor,
            payload=event.payload_value,
            created_at=format_timestamp(event.created_at),
            prev_hash=prev,
        )
        if event.prev_hash != prev or event.hash != expected:
            return False
        prev = event.hash
    return True


def test_an_approval_is_recorded_with_what_the_reviewer_saw_and_logged(agent, rita, rob):
    target = routing_target(required_approvals=2)
    proposal = proposal_make(agent, target, weight("billing", 2.0))
    review = approve(proposal, rita, "  Invoices matter more.  ")
    assert (review.decision, review.reason) == ("approve", "Invoices matter more.")
    assert review.patch_hash == proposal.patch_hash
    assert review.base_content_hash == proposal.base_content_hash
    event = Event.objects.get(kind="ReviewRecorded")
    assert event.actor == "user:rita"
    assert event.payload_value == {
        "patch_hash": proposal.patch_hash,
        "reviewer": "rita",
        "decision": "approve",
        "reason": "Invoices matter more.",
        "base_content_hash": proposal.base_content_hash,
        "proposal": proposal.pk,
    }
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.IN_REVIEW
    assert review_state(proposal=proposal).approvals == 1


def test_a_review_without_a_reason_is_refused(agent, rita):
    proposal = proposal_make(agent, routing_target(), weight("billing", 2.0))
    with pytest.raises(ReviewRefused, match="needs a reason"):
        review_record(
            proposal=proposal, reviewer=rita, decision="approve", reason="   ",
            patch_hash=proposal.patch_hash, base_content_hash=proposal.base_content_hash,
        )  # fmt: skip
    assert not Review.objects.exists()


def test_a_review_for_another_patch_or_base_is_refused_as_changed(agent, rita):
    proposal = proposal_make(agent, routing_target(), weight("billing", 2.0))
    for patch_hash, base_hash in [
        ("sha256:" + "0" * 64, proposal.base_content_hash),
        (proposal.patch_hash, "sha256:" + "0" * 64),
    ]:
        with pytest.raises(ReviewRefused) as refused:
            review_record(
                proposal=proposal, reviewer=rita, decision="approve", reason="Fine.",
                patch_hash=patch_hash, base_content_hash=base_hash,
            )  # fmt: skip
        assert str(refused.value) == CHANGED_SINCE_LOADED
    assert not Review.objects.exists()
    assert not Event.objects.filter(kind="ReviewRecorded").exists()


def test_one_reject_rejects_with_the_reviewers_reason_even_after_approvals(agent, rita, rob):
    target = routing_target(required_approvals=3)
    proposal = proposal_make(agent, target, weight("billing", 2.0))
    approve(proposal, rita)
    reject(proposal, rob, "Refunds would go to tech.")
    proposal.refresh_from_db()
    assert (proposal.status, proposal.stage, proposal.reason) == (
        "rejected", "audit_gate", "Refunds would go to tech.",
    )  # fmt: skip
    rejected = Event.objects.get(kind="PatchRejected")
    assert rejected.actor == "user:rob"
    assert rejected.payload_value["reason"] == "Refunds would go to tech."
    assert rejected.payload_value["stage"] == "audit_gate"
    assert TargetVersion.objects.filter(target=target).count() == 1


def test_a_decided_proposal_cannot_be_reviewed_again(agent, rita, rob):
    proposal = proposal_make(agent, routing_target(), weight("billing", 2.0))
    reject(proposal, rita)
    with pytest.raises(ReviewRefused, match="This proposal is rejected at audit_gate"):
        approve(proposal, rob)


def test_quorum_with_raises_needs_the_extra_approvals_before_applying(agent, rita, rob, ruth):
    target = routing_target(
        audit_rules={"protected_paths": [{"pattern": "/routes/*/weight", "effect": "raise"}]}
    )
    proposal = proposal_make(agent, target, weight("billing", 2.0))
    assert proposal.approvals_required == 2
    approve(proposal, rita)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.IN_REVIEW
    approve(proposal, rob)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.APPLIED
    target.refresh_from_db()
    assert target.version == 2
    new = TargetVersion.objects.get(target=target, version=2)
    assert json.loads(new.content)["routes"]["billing"]["weight"] == 2.0
    applied = Event.objects.get(kind="PatchApplied")
    assert applied.actor == "user:rob"
    assert applied.payload_value["version"] == 2
    with pytest.raises(ReviewRefused, match="This proposal is applied"):
        approve(proposal, ruth)
    assert chain_verifies()


def test_approvals_given_for_another_patch_hash_do_not_count(agent, rita, rob):
    target = routing_target(required_approvals=2)
    proposal = proposal_make(agent, target, weight("billing", 2.0))
    approve(proposal, rita)
    # A row that could only come from outside the service: it must not count toward quorum.
    Review.objects.filter(reviewer=rita).update(patch_hash="sha256:" + "f" * 64)
    approve(proposal, rob)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.IN_REVIEW
    assert review_state(proposal=proposal).approvals == 1


def test_applying_makes_every_other_open_proposal_on_the_old_base_stale_in_the_systems_name(
    agent, rita
):
    target = routing_target()
    winner = proposal_make(agent, target, weight("billing", 2.0))
    in_review = proposal_make(agent, target, weight("tech", 3.0))
    testing = proposal_make(
        agent, target, json_patch({"op": "replace", "path": "/threshold", "value": 2}), passed=False
    )
    approve(winner, rita)
    for loser in (in_review, testing):
        loser.refresh_from_db()
        # Stale, never rejected, and never in the name of the approving reviewer.
        assert (loser.status, loser.stage, loser.reason) == ("stale", "", "")
        event = Event.objects.get(kind="PatchStale", proposal=loser)
        assert event.actor == "system:apply"
        assert event.payload_value == {
            "patch_hash": loser.patch_hash,
            "base_version": 1,
            "current_version": 2,
            "target": "router",
            "proposal": loser.pk,
        }
    assert not Event.objects.filter(kind="PatchRejected").exists()


def test_a_key_revoked_before_quorum_rejects_at_apply_and_keeps_the_review(agent, rita):
    target = routing_target()
    proposal = proposal_make(agent, target, weight("billing", 2.0))
    agent_key_revoke(key=agent.agent.keys.get(), actor="user:admin")
    approve(proposal, rita)
    proposal.refresh_from_db()
    assert (proposal.status, proposal.stage) == ("rejected", "apply")
    assert proposal.reason.startswith("signing key ")
    assert Review.objects.filter(proposal=proposal, reviewer=rita).exists()
    assert list(Event.objects.filter(proposal=proposal).values_list("kind", flat=True))[-2:] == [
        "ReviewRecorded",
        "PatchRejected",
    ]
    target.refresh_from_db()
    assert target.version == 1


def test_a_withdrawn_proposal_cannot_be_reviewed_and_the_withdrawal_is_logged(agent, rita):
    from patches.lifecycle import proposal_withdraw

    proposal = proposal_make(agent, routing_target(), weight("billing", 2.0))
    proposal_withdraw(proposal=proposal, actor=f"agent:{agent.agent.name}")
    with pytest.raises(ReviewRefused, match="This proposal is withdrawn; only proposals in review"):
        approve(proposal, rita)
    assert Event.objects.filter(kind="PatchWithdrawn", proposal=proposal).count() == 1
    assert not Review.objects.exists()


def test_an_unknown_decision_is_refused(agent, rita):
    proposal = proposal_make(agent, routing_target(), weight("billing", 2.0))
    with pytest.raises(
        ReviewRefused,
        match="decision must be 'approve', 'reject' or 'request_changes', got 'maybe'",
    ):
        review_record(
            proposal=proposal, reviewer=rita, decision="maybe", reason="Unsure.",
            patch_hash=proposal.patch_hash, base_content_hash=proposal.base_content_hash,
        )  # fmt: skip
