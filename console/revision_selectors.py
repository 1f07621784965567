"""Read queries for a change's revisions on the proposal page: tabs, carried approvals, stale."""

from __future__ import annotations

from dataclasses import dataclass, field

from audit.models import Decision, Finding, Review
from audit.revisions import blocking_requests, counted_approvals
from patches.lifecycle import stale_on_apply
from patches.models import Proposal, ProposalStatus


@dataclass
class Carried:
    """Approvals carried into this revision from the one it replaced, and the rule."""

    from_revision: int
    rule: str
    reviewers: list[str]


@dataclass
class RevisionsView:
    proposal: Proposal
    revisions: list[Proposal]
    carried: Carried | None
    dropped: str  # the audit gate's note when the replaced proposal's approvals were dropped
    stale_current_version: int | None
    # What approving would do, said before the click: the open proposals it would make stale
    # (empty when this approval would not apply the patch).
    would_make_stale: list[Proposal] = field(default_factory=list)
    blocking: list[Review] = field(default_factory=list)

    @property
    def has_revisions(self) -> bool:
        return len(self.revisions) > 1

    @property
    def would_make_stale_names(self) -> list[str]:
        return [f"#{other.pk}" for other in self.would_make_stale]

    @property
    def blocking_names(self) -> list[str]:
        return sorted({r.reviewer.get_username() for r in self.blocking})

    @property
    def previous(self) -> Proposal | None:
        earlier = [r for r in self.revisions if r.revision < self.proposal.revision]
        return earlier[-1] if earlier else None


def revisions_view(proposal: Proposal, *, user: object = None) -> RevisionsView:
    revisions = list(
        Proposal.objects.filter(change_id=proposal.change_id)
        .only("pk", "revision", "status", "patch_hash", "change_id", "target_id")
        .order_by("revision")
    ) or [proposal]
    carried_rows = list(
        proposal.reviews.exclude(carried_from="")  # type: ignore[attr-defined]
        .select_related("reviewer")
        .order_by("pk")
    )
    carried = None
    if carried_rows:
        source = next((r for r in revisions if r.patch_hash == carried_rows[0].carried_from), None)
        carried = Carried(
            from_revision=source.revision if source is not None else 0,
            rule=carried_rows[0].carried_rule,
            reviewers=[r.reviewer.get_username() for r in carried_rows],
        )
    dropped = ""
    if carried is None and proposal.revises_id is not None:
        note = Finding.objects.filter(proposal=proposal, check_name="revision").first()
        dropped = note.message if note is not None else ""
    stale_version = proposal.target.version if proposal.status == ProposalStatus.STALE else None
    return RevisionsView(
        proposal=proposal,
        revisions=revisions,
        carried=carried,
        dropped=dropped,
        stale_current_version=stale_version,
        would_make_stale=_would_make_stale(proposal, user),
        blocking=blocking_requests(proposal),
    )


def _would_make_stale(proposal: Proposal, user: object) -> list[Proposal]:
    if proposal.status not in (ProposalStatus.IN_REVIEW, ProposalStatus.CHANGES_REQUESTED):
        return []
    approvals = counted_approvals(proposal)
    if user is not None and any(r.reviewer_id == getattr(user, "pk", None) for r in approvals):
        return []
    if len(approvals) + 1 < proposal.approvals_required:
        return []
    if blocking_requests(proposal, approving=user):
        return []
    return stale_on_apply(target=proposal.target, applying=proposal)


def requests_of(reviews: list[Review]) -> list[Review]:
    return [r for r in reviews if r.decision == Decision.REQUEST_CHANGES]
