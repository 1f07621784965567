"""Reads for the labels, move requests and fleet parts of a target page, and the inbox's
drift count: a constant number of queries whatever the number of labels or instances."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from audit.access import is_admin, label_move_refusal
from audit.label_moves import move_approve_problem, waiting_moves
from audit.models import LabelMoveRequest
from console.views.access import Viewer
from patches.fleet import FleetRow, fleet_drift_count, fleet_rows
from patches.models import Label, Target


@dataclass(frozen=True)
class WaitingMove:
    move: LabelMoveRequest
    approvers: list[str]
    refusal: str | None  # why the viewer may not approve it, None when they may
    may_withdraw: bool


def target_label_context(viewer: Viewer, target: Target) -> dict[str, Any]:
    """What templates/console/partials/target_labels.html and target_fleet.html show."""
    labels = list(Label.objects.filter(target=target).order_by("name"))
    for label in labels:
        label.target = target
    refusal = label_move_refusal(user=viewer.user, target=target)
    moves = []
    for move in waiting_moves(target):
        move.label.target = target
        approvers = sorted(a.reviewer.get_username() for a in move.approvals.all())
        problem = refusal or move_approve_problem(user=viewer.user, move=move, approvers=approvers)
        may_withdraw = move.requested_by_id == viewer.user.pk or viewer.is_admin
        moves.append(WaitingMove(move, approvers, problem, may_withdraw))
    fleet: list[FleetRow] = fleet_rows([target.pk])
    return {
        "labels": labels,
        "label_moves": moves,
        "label_move_refusal": refusal,
        "may_create_label": is_admin(viewer.user),
        "fleet": fleet,
        "fleet_drift": sum(1 for row in fleet if row.drift),
    }


def owner_drift_count(viewer: Viewer) -> int:
    """Drifting instances of the targets the viewer owns (the inbox header), three queries."""
    if not viewer.owned_target_ids:
        return 0
    return fleet_drift_count(viewer.owned_target_ids)
