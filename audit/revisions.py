"""Revisions in the audit gate: carried approvals, change requests that block, the rebase offer.

The rules are DESIGN.md's "Revisions and review decisions" (docs/revisions.md):
- approvals of the replaced proposal carry to its revision only when the revision makes the
  same change (patches.formats.rebase.same_change_rule); each carried set is logged as
  ReviewCarriedOver {patch_hash, from_patch_hash, reviewers, rule}; the test gate never carries;
- a request_changes blocks every later revision of its change until its reviewer approves a
  later revision, or an admin withdraws it (ChangeRequestWithdrawn).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.models import Decision, Review
from patches.canonical import parse_json
from patches.formats import PatchError
from patches.formats.rebase import (
    Change,
    RebaseConflict,
    json_rebase,
    same_change_rule,
    text_rebase,
)
from patches.lifecycle import proposal_lock, proposal_review_status
from patches.log import event_append
from patches.models import Proposal, ProposalStatus, Target, TargetVersion
from patches.targets import target_patch_apply

CARRY_ACTOR = "system:audit_gate"


class RequestWithdrawRefused(ValueError):
    """The change request cannot be withdrawn; the message says why."""


def counted_approvals(proposal: Proposal) -> list[Review]:
    """Approvals that count: given (or carried) for this exact patch and base."""
    return list(
        proposal.reviews.filter(  # type: ignore[attr-defined]
            decision=Decision.APPROVE,
            patch_hash=proposal.patch_hash,
            base_content_hash=proposal.base_content_hash,
        )
        .select_related("reviewer")
        .order_by("created_at", "pk")
    )


def blocking_requests(proposal: Proposal, *, approving: Any = None) -> list[Review]:
    """The request_changes of this change that still block `proposal` from applying: made on
    this revision or an earlier one, not withdrawn, and their reviewer has approved no later
    revision. `approving`: a person about to approve this proposal (their approval would lift
    their own requests on earlier revisions)."""
    if proposal.change_id is None:
        return []
    requests = list(
        Review.objects.filter(
            proposal__change_id=proposal.change_id,
            proposal__revision__lte=proposal.revision,
            decision=Decision.REQUEST_CHANGES,
            withdrawn_at__isnull=True,
        )
        .select_related("reviewer", "proposal")
        .order_by("created_at", "pk")
    )
    if not requests:
        return []
    approvals = Review.objects.filter(
        proposal__change_id=proposal.change_id, decision=Decision.APPROVE
    ).values_list("reviewer_id", "proposal__revision")
    latest: dict[int, int] = {}
    for reviewer_id, revision in approvals:
        latest[reviewer_id] = max(latest.get(reviewer_id, 0), revision)
    if approving is not None:
        latest[approving.pk] = max(latest.get(approving.pk, 0), proposal.revision)
    return [
        request
        for request in requests
        if latest.get(request.reviewer_id, 0) <= request.proposal.revision
    ]


def may_apply(proposal: Proposal) -> bool:
    """Quorum met and no change request in the way."""
    return len(counted_approvals(proposal)) >= proposal.approvals_required and not (
        blocking_requests(proposal)
    )


# --- carrying approvals to a revision ---------------------------------------------------------


@dataclass(frozen=True)
class CarryPlan:
    """What carrying the replaced proposal's approvals to a revision would do."""

    from_proposal: Proposal
    reviews: list[Review]  # the replaced proposal's counted approvals
    rule: str | None  # None: the change differs, nothing carries

    @property
    def carried(self) -> bool:
        return self.rule is not None and bool(self.reviews)


def _content(target: Target, version: int) -> str | None:
    row = TargetVersion.objects.filter(target=target, version=version).first()
    return row.content if row is not None else None


def change_of(proposal: Proposal) -> Change | None:
    """The proposal's base, result and patch, or None when its base or patch is gone."""
    base = _content(proposal.target, proposal.base_version)
    if base is None:
        return None
    try:
        result = target_patch_apply(target=proposal.target, base=base, patch=proposal.patch)
    except PatchError:
        return None
    return Change(base=base, result=result.content, patch=proposal.patch)


def carry_plan(proposal: Proposal) -> CarryPlan | None:
    """For a revision, what its replaced proposal's approvals do; None for a first proposal."""
    revised = proposal.revises
    if revised is None:
        return None
    reviews = counted_approvals(revised)
    approved, revision = change_of(revised), change_of(proposal)
    rule = None
    if approved is not None and revision is not None:
        rule = same_change_rule(
            content_kind=proposal.target.content_kind, approved=approved, revision=revision
        )
    return CarryPlan(from_proposal=revised, reviews=reviews, rule=rule)


def approvals_carry(*, proposal: Proposal, plan: CarryPlan) -> list[Review]:
    """Record the carried approvals on the revision with their ReviewCarriedOver event (in the
    caller's transaction, the audit gate's)."""
    if not plan.carried:
        return []
    assert plan.rule is not None
    carried = [
        Review.objects.create(
            proposal=proposal,
            reviewer=review.reviewer,
            decision=Decision.APPROVE,
            reason=review.reason,
            patch_hash=proposal.patch_hash,
            base_content_hash=proposal.base_content_hash,
            carried_from=plan.from_proposal.patch_hash,
            carried_rule=plan.rule,
        )
        for review in plan.reviews
    ]
    event_append(
        kind="ReviewCarriedOver",
        actor=CARRY_ACTOR,
        payload={
            "patch_hash": proposal.patch_hash,
            "from_patch_hash": plan.from_proposal.patch_hash,
            "reviewers": [review.reviewer.get_username() for review in plan.reviews],
            "rule": plan.rule,
            "proposal": proposal.pk,
        },
        proposal=proposal,
    )
    return carried


# --- withdrawing a change request ---------------------------------------------------------------


def change_request_withdraw(*, review: Review, admin: Any, reason: str) -> Review:
    """An admin lifts a request_changes; the change's open revision may then apply."""
    from audit.access import is_admin
    from audit.reviews import apply_if_ready

    reason = reason.strip()
    if not reason:
        raise RequestWithdrawRefused("Say why the request is withdrawn.")
    if not is_admin(admin):
        raise RequestWithdrawRefused("Only an admin may withdraw another person's request.")
    with transaction.atomic():
        current = (
            Proposal.objects.filter(
                change_id=review.proposal.change_id,
                status__in=(ProposalStatus.IN_REVIEW, ProposalStatus.CHANGES_REQUESTED),
            )
            .order_by("-revision")
            .first()
        )
        if current is not None:
            current = proposal_lock(current)
        review = Review.objects.select_for_update().select_related("proposal").get(pk=review.pk)
        if review.decision != Decision.REQUEST_CHANGES or review.withdrawn_at is not None:
            raise RequestWithdrawRefused("This review is no open change request.")
        review.withdrawn_by = admin
        review.withdrawn_at = timezone.now()
        review.save(update_fields=["withdrawn_by", "withdrawn_at"])
        event_append(
            kind="ChangeRequestWithdrawn",
            actor=f"user:{admin.get_username()}",
            payload={
                "patch_hash": review.proposal.patch_hash,
                "reviewer": review.reviewer.get_username(),
                "reason": reason,
                "proposal": review.proposal_id,
            },
            proposal=review.proposal,
        )
        if current is not None and not blocking_requests(current):
            if current.status == ProposalStatus.CHANGES_REQUESTED:
                current = proposal_review_status(proposal=current, status=ProposalStatus.IN_REVIEW)
            apply_if_ready(proposal=current, actor=f"user:{admin.get_username()}")
    return review


# --- rebase -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rebased:
    base_version: int
    patch: str
    same_change: bool


class NotStale(ValueError):
    pass


def proposal_rebase(proposal: Proposal) -> Rebased:
    """The stale proposal's change re-made against its target's current version (for its agent
    to sign as a revision); RebaseConflict names what no longer applies."""
    if proposal.status != ProposalStatus.STALE:
        raise NotStale(
            f"proposal {proposal.pk} is {proposal.status}; only a stale proposal is rebased"
        )
    target = proposal.target
    current = TargetVersion.objects.get(target=target, version=target.version)
    old_base = _content(target, proposal.base_version) or ""
    try:
        if target.content_kind == "text":
            patch = text_rebase(new_base=current.content, patch=proposal.patch)
        else:
            patch = json_rebase(
                old_base=parse_json(old_base), new_base=parse_json(current.content),
                patch=proposal.patch,
            )  # fmt: skip
        result = target_patch_apply(target=target, base=current.content, patch=patch)
    except PatchError as exc:
        raise RebaseConflict([_conflict_of(exc)]) from exc
    approved = change_of(proposal)
    same = approved is not None and (
        same_change_rule(
            content_kind=target.content_kind,
            approved=approved,
            revision=Change(base=current.content, result=result.content, patch=patch),
        )
        is not None
    )
    return Rebased(base_version=current.version, patch=patch, same_change=same)


def _conflict_of(exc: PatchError) -> Any:
    from patches.formats.rebase import Conflict

    return Conflict(exc.location or "patch", exc.message)


def rebase_state(proposal: Proposal) -> dict[str, Any] | None:
    """The API's `stale`: null, or {current_version, rebase: "clean" | "conflict"}."""
    if proposal.status != ProposalStatus.STALE:
        return None
    try:
        proposal_rebase(proposal)
        outcome = "clean"
    except RebaseConflict:
        outcome = "conflict"
    return {"current_version": proposal.target.version, "rebase": outcome}
