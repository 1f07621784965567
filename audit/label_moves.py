"""Reviewed label moves: a request with a reason, approved by the label's quorum of people
other than the requester, then moved (patches.labels.label_move) in the approving transaction.

Events: LabelMoveRequested when asked, LabelMoveApproved per approval, LabelMoved when the
quorum is reached (at once for a quorum of 0). An approval counts only while the label still
has the state the requester saw; once it moved otherwise (an apply, another move), the request
must be made again.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.access import label_move_refusal
from audit.models import LabelMoveApproval, LabelMoveRequest, LabelMoveStatus
from patches.labels import MAX_REASON_CHARS, LabelError, label_move, move_check
from patches.log import event_append
from patches.models import Label, Target


class LabelMoveRefused(ValueError):
    """The request or approval is not recorded; the message tells the person why."""


def _lock(label: Label) -> Label:
    """The label under lock, its target locked first (the one lock order)."""
    target = Target.objects.select_for_update(no_key=True).get(pk=label.target_id)
    label = Label.objects.select_for_update().get(pk=label.pk)
    label.target = target
    return label


def _moved_since(move: LabelMoveRequest, label: Label) -> bool:
    return (label.version, label.from_version if label.percent < 100 else None, label.percent) != (
        move.base_version,
        move.base_from_version,
        move.base_percent,
    )


def _move(move: LabelMoveRequest, label: Label, approvers: list[str], actor: str) -> None:
    label_move(
        label=label,
        to_version=move.to_version,
        percent=move.percent,
        reason=move.reason,
        requested_by=move.requested_by.get_username(),
        approved_by=approvers,
        actor=actor,
        extra={"request": move.pk},
    )
    move.status = LabelMoveStatus.MOVED
    move.decided_at = timezone.now()
    move.save(update_fields=["status", "decided_at"])


def label_move_request(
    *, label: Label, to_version: int, percent: int = 100, reason: str, user: Any
) -> LabelMoveRequest:
    """Ask for a move; with the label's quorum at 0 it moves in this same transaction."""
    reason = (reason or "").strip()
    if not reason:
        raise LabelMoveRefused("A label move needs a reason: say why it should move.")
    if len(reason) > MAX_REASON_CHARS:
        raise LabelMoveRefused(f"The reason is longer than {MAX_REASON_CHARS} characters.")
    refusal = label_move_refusal(user=user, target=label.target)
    if refusal:
        raise LabelMoveRefused(refusal)
    username = user.get_username()
    with transaction.atomic():
        label = _lock(label)
        try:
            checked = move_check(label=label, to_version=to_version, percent=percent)
        except LabelError as exc:
            raise LabelMoveRefused(str(exc)) from exc
        state = label.state
        move = LabelMoveRequest.objects.create(
            label=label,
            to_version=to_version,
            percent=percent,
            reason=reason,
            requested_by=user,
            approvals_required=label.quorum(),
            base_version=state.version,
            base_from_version=state.from_version if state.in_rollout else None,
            base_percent=state.percent,
        )
        event_append(
            kind="LabelMoveRequested",
            actor=f"user:{username}",
            payload={
                "request": move.pk,
                "target": label.target.name,
                "label": label.name,
                "from_version": checked.from_version,
                "to_version": to_version,
                "percent": percent,
                "reason": reason,
                "requested_by": username,
                "approvals": move.approvals_required,
            },
        )
        if move.approvals_required == 0:
            _move(move, label, [], actor=f"user:{username}")
    return move


def label_approve_refusal(*, user: Any, move: LabelMoveRequest) -> str | None:
    """Why this user may not approve this move request now, or None when they may."""
    refusal = label_move_refusal(user=user, target=move.label.target)
    if refusal:
        return refusal
    if move.status != LabelMoveStatus.WAITING:
        return f"This move request is {move.status}; only waiting requests can be approved."
    if move.requested_by_id == user.pk:
        return "You requested this move; someone else must approve it."
    if move.approvals.filter(reviewer=user).exists():
        return "You already approved this move; each person approves a move once."
    if _moved_since(move, move.label):
        return (
            f"The label {move.label.name} moved since this request was made: request the move "
            "again from its current state."
        )
    return None


def label_move_approve(*, move: LabelMoveRequest, user: Any) -> LabelMoveRequest:
    """Record one approval; the one that reaches the quorum moves the label."""
    username = user.get_username()
    with transaction.atomic():
        label = _lock(move.label)
        move = (
            LabelMoveRequest.objects.select_for_update(of=("self",))
            .select_related("requested_by")
            .get(pk=move.pk)
        )
        move.label = label
        refusal = label_approve_refusal(user=user, move=move)
        if refusal:
            raise LabelMoveRefused(refusal)
        LabelMoveApproval.objects.create(request=move, reviewer=user)
        event_append(
            kind="LabelMoveApproved",
            actor=f"user:{username}",
            payload={
                "request": move.pk,
                "target": label.target.name,
                "label": label.name,
                "reviewer": username,
            },
        )
        approvers = sorted(move.approvals.values_list("reviewer__username", flat=True).distinct())
        if len(approvers) >= move.approvals_required:
            try:
                _move(move, label, approvers, actor=f"user:{username}")
            except LabelError as exc:  # the target changed under the request (never expected)
                raise LabelMoveRefused(str(exc)) from exc
    return move


def waiting_moves(target: Target) -> list[LabelMoveRequest]:
    """The target's waiting requests with their approvers, for the target page (two queries)."""
    return list(
        LabelMoveRequest.objects.filter(label__target=target, status=LabelMoveStatus.WAITING)
        .select_related("label", "requested_by")
        .prefetch_related("approvals__reviewer")
        .order_by("created_at", "id")
    )
