"""Human decisions on a proposal: recording a review, counting the quorum, applying on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from audit.access import REVIEWABLE_STATUSES, review_refusal
from audit.models import Decision, Review, ReviewComment
from audit.review_comments import comments_validate
from audit.revisions import blocking_requests, counted_approvals
from patches.lifecycle import (
    ApplyRefused,
    TransitionError,
    proposal_apply,
    proposal_reject,
    proposal_review_status,
)
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
    comments: list[dict[str, Any]] | None = None,
) -> Review:
    """Record one person's approve / reject / request_changes with its reason and comments; a
    reject rejects, a request_changes asks for a revision (changes_requested), the approval
    that reaches the quorum applies the patch unless a change request blocks it, all in this
    one transaction.

    patch_hash and base_content_hash are what the reviewer was shown (the form posts them back).
    """
    if decision not in Decision.values:
        raise ReviewRefused(
            f"decision must be 'approve', 'reject' or 'request_changes', got {decision!r}"
        )
    reason = reason.strip()
    if not reason:
        raise ReviewRefused(
            "A review needs a reason: say why you approve, reject or request changes."
        )
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
        try:
            anchored = comments_validate(proposal=proposal, comments=comments or [])
        except ValueError as exc:
            raise ReviewRefused(str(exc)) from exc
        review = Review.objects.create(
            proposal=proposal,
            reviewer=reviewer,
            decision=decision,
            reason=reason,
            patch_hash=patch_hash,
            base_content_hash=base_content_hash,
        )
        ReviewComment.objects.bulk_create(
            ReviewComment(review=review, anchor=c["anchor"], body=c["body"], position=i)
            for i, c in enumerate(anchored)
        )
        payload: dict[str, Any] = {
            "patch_hash": patch_hash,
            "reviewer": reviewer.get_username(),
            "decision": decision,
            "reason": reason,
            "base_content_hash": base_content_hash,
            "proposal": proposal.pk,
        }
        if anchored:
            payload["comments"] = anchored
        event_append(kind="ReviewRecorded", actor=actor, payload=payload, proposal=proposal)
        if decision == Decision.REJECT:
            proposal_reject(
                proposal=proposal, stage=RejectionStage.AUDIT_GATE, reason=reason, actor=actor
            )
        elif decision == Decision.REQUEST_CHANGES:
            if proposal.status == ProposalStatus.IN_REVIEW:
                proposal_review_status(proposal=proposal, status=ProposalStatus.CHANGES_REQUESTED)
        else:
            apply_if_ready(proposal=proposal, actor=actor)
    return review


def apply_if_ready(*, proposal: Proposal, actor: str) -> bool:
    """Apply the proposal when it is in review (or changes were requested and every request is
    lifted) with its quorum of approvals; in the caller's transaction, which holds the target
    and proposal locks. True when it applied."""
    if proposal.status not in (ProposalStatus.IN_REVIEW, ProposalStatus.CHANGES_REQUESTED):
        return False  # a stale proposal keeps its approvals for a revision (audit.revisions)
    if len(counted_approvals(proposal)) < proposal.approvals_required:
        return False
    if blocking_requests(proposal):
        return False
    if proposal.status == ProposalStatus.CHANGES_REQUESTED:
        proposal = proposal_review_status(proposal=proposal, status=ProposalStatus.IN_REVIEW)
    try:
        proposal_apply(proposal=proposal, actor=actor)
    except ApplyRefused:
        # proposal_apply has already rejected the proposal at stage "apply" in a savepoint of
        # this transaction; swallowing the exception here is what keeps that rejection (and
        # this review) instead of rolling them back.
        return False
    except TransitionError as exc:
        # No passing gate for this patch_hash or no signature: nothing may apply, and the
        # approval that would have applied it is not recorded either.
        raise ReviewRefused(f"This patch cannot be applied: {exc}") from exc
    return True


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
        is_open=proposal.status in REVIEWABLE_STATUSES,
    )
