"""The console's calls into the audit gate: may this person decide, and record their decision."""

from __future__ import annotations

from typing import Any

from audit.access import review_refusal
from audit.reviews import ReviewRefused, review_record
from console.views.access import Viewer
from patches.models import Proposal


class ReviewFailed(Exception):
    """The decision could not be recorded; the message tells the reviewer why."""


def refusal_for(*, viewer: Viewer, proposal: Proposal) -> str | None:
    """Why this person may not decide on this proposal now, or None when they may."""
    return review_refusal(user=viewer.user, proposal=proposal)


def decide(
    *,
    viewer: Viewer,
    proposal: Proposal,
    decision: str,
    reason: str,
    patch_hash: str,
    base_content_hash: str,
    comments: list[dict[str, Any]] | None = None,
) -> None:
    refusal = refusal_for(viewer=viewer, proposal=proposal)
    if refusal:
        raise ReviewFailed(refusal)
    try:
        review_record(
            proposal=proposal,
            reviewer=viewer.user,
            decision=decision,
            reason=reason,
            patch_hash=patch_hash,
            base_content_hash=base_content_hash,
            comments=comments,
        )
    except ReviewRefused as exc:
        raise ReviewFailed(str(exc)) from exc
