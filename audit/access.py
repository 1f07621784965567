"""Who may decide a proposal or propose a revert, with the reason in words when they may not.

The rules (separation of duties):
- only active, signed-in people decide; agents have no Django user at all, and the agent API
  authenticates bearer tokens to an Agent, never to a session, so no API token can reach the
  reviewer views (those views must keep requiring a session login);
- a target that names owners is reviewed by its owners only; otherwise by the "reviewers" group;
- admins may review any target, owners or not: they administer the whole console, and a
  deployment that wants owners-only review simply does not make owners admins;
- never the person who proposed the patch (Proposal.submitted_by, set for reverts);
- one review per person per proposal, and only while the proposal is in review.

Who is an admin and who is a reviewer is defined here alone; the console's views ask these.
"""

from __future__ import annotations

from typing import Any

from audit.gate import audit_gate_has_run
from patches.models import Proposal, ProposalStatus, Target

REVIEWERS_GROUP = "reviewers"
# Decided by reviewers: in review, sent back for changes, or stale (an approval of a stale
# proposal counts for a rebased revision that makes the same change, audit.revisions).
REVIEWABLE_STATUSES = (
    ProposalStatus.IN_REVIEW,
    ProposalStatus.CHANGES_REQUESTED,
    ProposalStatus.STALE,
)


def is_admin(user: Any) -> bool:
    """An active superuser. is_staff alone is not enough: it lets Django admin show only the
    models the user has permissions on, and grants no console-wide rights."""
    return bool(user.is_active and user.is_superuser)


def is_reviewer(user: Any) -> bool:
    """An active member of the reviewers group, who reviews the targets that name no owners."""
    return bool(user.is_active and user.groups.filter(name=REVIEWERS_GROUP).exists())


def _is_reviewer_of(user: Any, target: Target) -> str | None:
    """None when the user may review this target's proposals, else why not."""
    if is_admin(user):
        return None
    owners = list(target.owners.order_by("username").values_list("username", flat=True))
    if owners:
        if user.get_username() in owners:
            return None
        return f"Only the owners of {target.name} may review it ({', '.join(owners)})."
    if is_reviewer(user):
        return None
    return f"Only members of the {REVIEWERS_GROUP!r} group may review proposals."


def _account_refusal(user: Any) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return "Sign in to review proposals."
    if not user.is_active:
        return "Your account is inactive."
    return None


def review_refusal(*, user: Any, proposal: Proposal) -> str | None:
    """Why this user may not approve or reject this proposal now, or None if they may."""
    refusal = _account_refusal(user)
    if refusal:
        return refusal
    if proposal.status not in REVIEWABLE_STATUSES:
        stage = f" at {proposal.stage}" if proposal.stage else ""
        later = ""
        if proposal.status == ProposalStatus.SUPERSEDED:
            later = " Review its latest revision instead."
        return (
            f"This proposal is {proposal.status}{stage}; only proposals in review can be "
            f"decided.{later}"
        )
    if not audit_gate_has_run(proposal):
        return "The audit gate has not checked this proposal yet; decide it once it has."
    if proposal.submitted_by_id is not None and proposal.submitted_by_id == user.pk:
        return "You proposed this patch; someone else must review it."
    refusal = _is_reviewer_of(user, proposal.target)
    if refusal:
        return refusal
    earlier = proposal.reviews.filter(reviewer=user).values_list("decision", flat=True).first()
    if earlier:
        verb = {"approve": "approved", "reject": "rejected"}.get(earlier, "requested changes on")
        return f"You already {verb} this proposal; each person reviews a proposal once."
    return None


def revert_refusal(*, user: Any, target: Target) -> str | None:
    """Why this user may not propose a revert on this target, or None if they may."""
    refusal = _account_refusal(user)
    if refusal:
        return refusal
    refusal = _is_reviewer_of(user, target)
    if refusal:
        return refusal.replace("may review it", "may revert it").replace(
            "may review proposals", "may propose reverts"
        )
    return None


def label_move_refusal(*, user: Any, target: Target) -> str | None:
    """Why this user may not request or approve moves of this target's labels, or None: the
    people who review its proposals (agents never: they have no user)."""
    refusal = _account_refusal(user)
    if refusal:
        return refusal.replace("review proposals", "move labels")
    refusal = _is_reviewer_of(user, target)
    if refusal:
        return refusal.replace("may review it", "may move its labels").replace(
            "may review proposals", "may move labels"
        )
    return None
