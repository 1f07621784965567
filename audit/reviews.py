"""Human decisions on a proposal: recording a review, counting the quorum, applying on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from audit.access import review_refusal
from audit.models import Decision, Review
from patches.lifecycle import ApplyRefused, TransitionError, proposal_apply, proposal_reject
from patches.log import event_append
from patches.models import OPEN_STATUSES, Proposal, ProposalStatus, RejectionStage, Target


class ReviewRefused(ValueError):
    """The review cannot be recorded; the message tells the reviewer why (and what to do)."""


CHANGED_SINCE_LOADED = (
    "This proposal changed since you loaded it: reload the page and review it again."
)


def review_record(
    *,
    proposal: Proposal,
    reviewer: Any,
    decision: str,
    reason: str,
    patch_hash: str,
    base_content_hash: str,
) -> Review:
    """Record one person's approve/reject with its reason; a reject rejects, the approval that
    reaches the quorum applies the patch, all in this one transaction.

    patch_hash and base_content_hash are what the reviewer was shown (the form posts them back).
    """
    if decision not in Decision.values:
        raise ReviewRefused(f"decision must be 'approve' or 'reject', got {decision!r}")
    reason = reason.strip()
    if not reason:
        raise ReviewRefused("A review needs a reason: say why you approve or reject this patch.")
    actor = f"user:{reviewer.get_username()}"
    with transaction.atomic():
        # Lock order: target, then every open proposal on it (this one included), all before
        # the first event takes the log's chain lock. An apply must lock the other open
        # proposals to reject them as stale; taking those locks after the chain lock would
        # deadlock with a gate that holds one of them and waits for the chain. Two reviews on
        # one target simply queue on the target row. FOR NO KEY UPDATE throughout, so foreign
        # key checks of other transactions (KEY SHARE, taken at their commit) never wait on us.
        Target.objects.select_for_update(no_key=True).get(pk=proposal.target_id)
        list(
            Proposal.objects.select_for_update(of=("self",), no_key=True)
            .filter(target_id=proposal.target_id, status__in=OPEN_STATUSES)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        proposal = (
            Proposal.objects.select_for_update(of=("self",), no_key=True)
            .select_related("target", "agent")
            .get(pk=proposal.pk)
        )
        refusal = review_refusal(user=reviewer, proposal=proposal)
        if refusal:
            raise ReviewRefused(refusal)
        if patch_hash != proposal.patch_hash or base_content_hash != proposal.base_content_hash:
            raise ReviewRefused(CHANGED_SINCE_LOADED)
        review = Review.objects.create(
            proposal=proposal,
            reviewer=reviewer,
            decision=decision,
            reason=reason,
            patch_hash=patch_hash,
            base_content_hash=base_content_hash,
        )
        event_append(
            kind="ReviewRecorded",
            actor=actor,
            payload={
                "patch_hash": patch_hash,
                "reviewer": reviewer.get_username(),
                "decision": decision,
                "reason": reason,
                "base_content_hash": base_content_hash,
                "proposal": proposal.pk,
            },
            proposal=proposal,
        )
        if decision == Decision.REJECT:
            proposal_reject(
                proposal=proposal, stage=RejectionStage.AUDIT_GATE, reason=reason, actor=actor
            )
        elif approvals_counted(proposal) >= proposal.approvals_required:
            try:
                proposal_apply(proposal=proposal, actor=actor)
            except ApplyRefused:
                # proposal_apply has already rejected the proposal at stage "apply" in a
                # savepoint of this transaction; swallowing the exception here is what keeps
                # that rejection (and this review) instead of rolling them back.
                pass
            except TransitionError as exc:
                # No passing gate for this patch_hash or no signature: nothing may apply, and
                # the approval that would have applied it is not recorded either.
                raise ReviewRefused(f"This patch cannot be applied: {exc}") from exc
    return review


def approvals_counted(proposal: Proposal) -> int:
    """Approvals that count: given for this exact patch and base, by distinct people."""
    return (
        proposal.reviews.filter(
            decision=Decision.APPROVE,
            patch_hash=proposal.patch_hash,
            base_content_hash=proposal.base_content_hash,
        )
        .values("reviewer")
        .distinct()
        .count()
    )


@dataclass(frozen=True)
class ReviewState:
    """What the proposal page shows next to the form."""

    approvals: int
    approvals_required: int
    reviews: list[Review]
    is_open: bool


def review_state(*, proposal: Proposal) -> ReviewState:
    return ReviewState(
        approvals=approvals_counted(proposal),
        approvals_required=proposal.approvals_required,
        reviews=list(proposal.reviews.select_related("reviewer").order_by("created_at", "id")),
        is_open=proposal.status == ProposalStatus.IN_REVIEW,
    )
