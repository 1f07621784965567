"""Editing a stored proposal in the database (no trigger guards that table): apply re-derives
everything from the signed envelope, verifies it again, and refuses what was not signed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection

from audit.reviews import review_record
from patches.canonical import hash_of
from patches.models import Event, Proposal, ProposalStatus, Target, TargetVersion
from tests.factories import (
    ROUTING,
    AgentPersona,
    make_reviewer,
    make_target,
    proposal_body,
    signed_envelope,
    threshold_patch,
)
from tests.security.conftest import post_envelope

pytestmark = pytest.mark.django_db
SIGNED_THRESHOLD = 2.0
FORGED_THRESHOLD = 9.0


def _in_review(client: Any, smith: AgentPersona, router: Target, capture: Any) -> Proposal:
    """Submitted over the API with both gates passed, as an intruder would find it."""
    envelope = signed_envelope(
        smith, proposal_body(target=router, patch=threshold_patch(SIGNED_THRESHOLD))
    )
    with capture(execute=True):
        response = post_envelope(client, envelope, smith)
    assert response.status_code == 201, response.content
    proposal = Proposal.objects.get(pk=response.json()["id"])
    assert proposal.status == ProposalStatus.IN_REVIEW
    return proposal


def _update(table: str, assignments: str, params: list[Any], row_id: int) -> None:
    statement = f"UPDATE {table} SET {assignments} WHERE id = %s"  # noqa: S608 (the attack)
    with connection.cursor() as cursor:
        cursor.execute(statement, [*params, row_id])


def _approve(proposal: Proposal) -> Proposal:
    proposal.refresh_from_db()
    review_record(
        proposal=proposal,
        reviewer=make_reviewer("rita"),
        decision="approve",
        reason="Looks right.",
        patch_hash=proposal.patch_hash,
        base_content_hash=proposal.base_content_hash,
    )
    proposal.refresh_from_db()
    return proposal


def _threshold(target: Target) -> float:
    target.refresh_from_db()
    content = TargetVersion.objects.get(target=target, version=target.version).content
    return float(json.loads(content)["threshold"])


def _assert_refused_at_apply(proposal: Proposal, router: Target, *words: str) -> None:
    assert proposal.status == ProposalStatus.REJECTED, proposal.status
    assert proposal.stage == "apply"
    for word in words:
        assert word in proposal.reason, proposal.reason
    router.refresh_from_db()
    assert router.version == 1
    assert not Event.objects.filter(kind="PatchApplied").exists()


@pytest.mark.parametrize(
    ("assignments", "params", "named"),
    [
        ("patch = %s", [threshold_patch(FORGED_THRESHOLD)], "patch"),
        ("reasoning = %s", ["Approved by the security team, do not review."], "reasoning"),
        ("test_requirements = %s", ['["nothing"]'], "test_requirements"),
    ],
    ids=["patch", "reasoning", "test_requirements"],
)
def test_a_column_edited_after_signing_never_applies(
    client, smith, router, django_capture_on_commit_callbacks, assignments, params, named
):
    proposal = _in_review(client, smith, router, django_capture_on_commit_callbacks)
    _update("patches_proposal", assignments, params, proposal.pk)

    proposal = _approve(proposal)

    _assert_refused_at_apply(proposal, router, named, "signed envelope")
    assert _threshold(router) == ROUTING["threshold"]


def test_a_proposal_moved_to_another_target_never_applies_there(
    client, smith, router, django_capture_on_commit_callbacks
):
    other = make_target(name="other-router", patch_type="Routing", content=ROUTING)
    proposal = _in_review(client, smith, router, django_capture_on_commit_callbacks)
    _update("patches_proposal", "target_id = %s", [other.pk], proposal.pk)

    proposal = _approve(proposal)

    assert proposal.status == ProposalStatus.REJECTED
    assert proposal.stage == "apply"
    assert "target" in proposal.reason and "signed envelope" in proposal.reason
    other.refresh_from_db()
    assert other.version == 1
    assert _threshold(router) == ROUTING["threshold"]


def test_a_rewritten_envelope_with_a_matching_patch_hash_fails_its_signature(
    client, smith, router, django_capture_on_commit_callbacks
):
    """The thorough intruder rewrites envelope, patch, patch_hash and the gate run's patch_hash
    consistently; only the agent's signature, which they cannot make, gives them away."""
    proposal = _in_review(client, smith, router, django_capture_on_commit_callbacks)
    envelope = json.loads(proposal.envelope)
    envelope["proposal"]["patch"] = threshold_patch(FORGED_THRESHOLD)
    forged_hash = hash_of(envelope["proposal"])
    _update(
        "patches_proposal",
        "envelope = %s, patch = %s, patch_hash = %s",
        [json.dumps(envelope), envelope["proposal"]["patch"], forged_hash],
        proposal.pk,
    )
    _update("patches_testrun", "patch_hash = %s", [forged_hash], proposal.test_run.pk)

    proposal = _approve(proposal)

    _assert_refused_at_apply(proposal, router, "signature")
    assert _threshold(router) == ROUTING["threshold"]


def test_an_envelope_that_does_not_hash_to_the_patch_hash_never_applies(
    client, smith, router, django_capture_on_commit_callbacks
):
    proposal = _in_review(client, smith, router, django_capture_on_commit_callbacks)
    envelope = json.loads(proposal.envelope)
    envelope["proposal"]["patch"] = threshold_patch(FORGED_THRESHOLD)
    _update(
        "patches_proposal",
        "envelope = %s, patch = %s",
        [json.dumps(envelope), envelope["proposal"]["patch"]],
        proposal.pk,
    )

    proposal = _approve(proposal)

    _assert_refused_at_apply(proposal, router, "patch_hash")
    assert _threshold(router) == ROUTING["threshold"]


def test_an_untouched_proposal_applies_the_patch_its_envelope_signed(
    client, smith, router, django_capture_on_commit_callbacks
):
    proposal = _approve(_in_review(client, smith, router, django_capture_on_commit_callbacks))

    assert proposal.status == ProposalStatus.APPLIED
    assert _threshold(router) == SIGNED_THRESHOLD
    applied = json.loads(Event.objects.get(kind="PatchApplied").payload)
    assert applied["patch_hash"] == hash_of(json.loads(proposal.envelope)["proposal"])
