"""Reverting an applied version: a console-signed proposal through the same gates as any other."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User

from audit.access import review_refusal
from audit.replay import targets_replay
from audit.revert import RevertError, revert_propose
from audit.reviews import ReviewRefused
from patches.canonical import canonical, hash_of
from patches.models import Event, ProposalStatus, TargetVersion
from patches.signing import console_public_key, verify
from tests.auditgate.conftest import approve, gate_pass, proposal_make, routing_target, weight

pytestmark = pytest.mark.django_db


def applied(agent, target, patch, reviewer):  # type: ignore[no-untyped-def]
    proposal = proposal_make(agent, target, patch)
    approve(proposal, reviewer)
    target.refresh_from_db()
    return TargetVersion.objects.get(target=target, version=target.version)


def test_a_revert_round_trip_restores_the_earlier_content_hash_exactly(agent, rita, rob):
    target = routing_target()
    genesis = TargetVersion.objects.get(target=target, version=1)
    v2 = applied(agent, target, weight("billing", 2.5), rob)
    revert = revert_propose(version=v2, user=rita, reason="Undo it.")
    assert revert.status == ProposalStatus.TESTING
    assert (revert.agent.name, revert.submitted_by, revert.reverts) == ("console", rita, v2)
    assert revert.patch == v2.inverse_patch
    # Stored exactly as signed, and the console's signature verifies over the proposal.
    envelope = json.loads(revert.envelope)
    assert canonical(envelope).decode() == revert.envelope
    assert hash_of(envelope["proposal"]) == revert.patch_hash
    verify(console_public_key(), envelope["proposal"], envelope["signature"]["value"])
    assert revert.signatures.get().key.agent.name == "console"
    assert list(revert.test_run.results.values_list("name", flat=True)) == []

    revert = gate_pass(revert)
    assert revert.status == ProposalStatus.IN_REVIEW
    assert revert.findings.filter(check_name="revert").get().message == (
        "This reverts version 2 of router, proposed by rita."
    )
    with pytest.raises(ReviewRefused, match="someone else must review"):
        approve(revert, rita)
    approve(revert, rob)
    revert.refresh_from_db()
    assert revert.status == ProposalStatus.APPLIED
    v3 = TargetVersion.objects.get(target=target, version=3)
    assert v3.content_hash == genesis.content_hash
    assert v3.content == genesis.content
    kinds = list(Event.objects.filter(proposal=revert).values_list("kind", flat=True))
    assert kinds == [
        "PatchProposed", "RevertProposed", "TestGatePassed", "AuditChecked", "ReviewRecorded",
        "PatchApplied",
    ]  # fmt: skip
    assert Event.objects.get(kind="RevertProposed").actor == "user:rita"
    assert targets_replay().versions == 3  # the log alone rebuilds all three versions


def test_reverting_an_older_version_undoes_only_its_change(agent, rita, rob):
    target = routing_target()
    v2 = applied(agent, target, weight("billing", 2.5), rob)
    applied(agent, target, weight("tech", 3.0), rob)
    revert = gate_pass(revert_propose(version=v2, user=rita, reason="Undo it."))
    assert revert.base_version == 3
    approve(revert, rob)
    v4 = json.loads(TargetVersion.objects.get(target=target, version=4).content)
    assert v4["routes"]["billing"]["weight"] == 1.0
    assert v4["routes"]["tech"]["weight"] == 3.0


def test_a_version_whose_change_was_changed_again_cannot_be_reverted(agent, rita, rob):
    target = routing_target()
    v2 = applied(agent, target, weight("billing", 2.5), rob)
    applied(agent, target, weight("billing", 4.0), rob)
    with pytest.raises(RevertError, match="a later version changed /routes/billing/weight too"):
        revert_propose(version=v2, user=rita, reason="Undo it.")


def test_the_genesis_version_cannot_be_reverted(rita):
    target = routing_target()
    with pytest.raises(RevertError, match="is its genesis"):
        revert_propose(
            version=TargetVersion.objects.get(target=target, version=1),
            user=rita,
            reason="Undo it.",
        )


def test_only_reviewers_may_propose_a_revert(agent, rob):
    target = routing_target()
    v2 = applied(agent, target, weight("billing", 2.5), rob)
    outsider = User.objects.create_user("otto", password="correct horse battery")
    with pytest.raises(
        RevertError, match="Only members of the 'reviewers' group may propose reverts"
    ):
        revert_propose(version=v2, user=outsider, reason="Undo it.")


def test_a_second_revert_of_the_same_version_is_refused_while_one_is_open(agent, rita, rob):
    target = routing_target()
    v2 = applied(agent, target, weight("billing", 2.5), rob)
    first = revert_propose(version=v2, user=rita, reason="Undo it.")
    with pytest.raises(RevertError, match=f"already open \\(proposal {first.pk}\\)"):
        revert_propose(version=v2, user=rob, reason="Undo it.")
    assert review_refusal(user=rob, proposal=gate_pass(first)) is None


def test_a_prompt_revert_round_trip_restores_the_bytes_and_a_conflicting_one_is_refused(
    agent, rita, rob
):
    from tests.auditgate.conftest import prompt_target, text_patch

    target = prompt_target()
    genesis = TargetVersion.objects.get(target=target, version=1)
    v2 = applied(agent, target, text_patch(target, "Line 2 of", "Second line of"), rob)
    v3 = applied(agent, target, text_patch(target, "Line 11 of", "Eleventh line of"), rob)
    approve(gate_pass(revert_propose(version=v3, user=rita, reason="Undo it.")), rob)
    approve(gate_pass(revert_propose(version=v2, user=rita, reason="Undo it.")), rob)
    v5 = TargetVersion.objects.get(target=target, version=5)
    assert v5.content_hash == genesis.content_hash
    applied(agent, target, text_patch(target, "Line 12 of", "Twelfth line of"), rob)
    v7 = applied(agent, target, text_patch(target, "Twelfth line of", "Last line of"), rob)
    assert v7.version == 7
    with pytest.raises(RevertError, match="version 6 of system_prompt can no longer be reverted"):
        revert_propose(
            version=TargetVersion.objects.get(target=target, version=6),
            user=rita,
            reason="Undo it.",
        )


def test_reverts_are_not_held_back_by_the_agents_pending_limit(agent, rita, rob, settings):
    target = routing_target()
    v2 = applied(agent, target, weight("billing", 2.5), rob)
    v3 = applied(agent, target, weight("tech", 3.5), rob)
    settings.API_MAX_PENDING_PER_AGENT = 1

    first = revert_propose(version=v3, user=rita, reason="Undo it.")
    second = revert_propose(version=v2, user=rob, reason="Undo it.")

    assert [first.status, second.status] == [ProposalStatus.TESTING, ProposalStatus.TESTING]
