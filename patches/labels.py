"""Label transitions: genesis labels, label_create, the moves an apply makes, and a move itself.

Every change of what a label serves is one of these functions, in one transaction with its
event (LabelCreated, LabelMoved): invariant 7, nothing reaches agents unlogged. Who may ask for
a move and who must approve it is the audit layer's (audit.label_moves); this module only
moves.

Lock order, as everywhere: the target row, then its label rows, then the log's chain lock
(event_append, last).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from patches.label_models import PRODUCTION, Label
from patches.log import event_append
from patches.models import Proposal, Target, TargetVersion
from patches.rollout import FULL, bucket

MAX_LABELS_PER_TARGET = 50
MAX_REASON_CHARS = 10_000


class LabelError(ValueError):
    """A label that cannot be created or moved as asked; the message says what to change."""


def label_name_check(name: str) -> str:
    """A label name: a slug of at most 50 characters (it appears in URLs and bucket inputs)."""
    field = Label._meta.get_field("name")
    try:
        field.run_validators(name)
    except Exception as exc:
        raise LabelError(
            f"label name {name!r} is not a slug of at most 50 letters, digits, - and _"
        ) from exc
    if not name:
        raise LabelError("a label needs a name")
    return name


def on_apply_check(names: Sequence[str]) -> list[str]:
    """The on_apply setting: distinct label names, in the order given."""
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise LabelError("on_apply must be a list of label names")
    checked = list(dict.fromkeys(label_name_check(n) for n in names))
    if len(checked) > MAX_LABELS_PER_TARGET:
        raise LabelError(f"on_apply names more than {MAX_LABELS_PER_TARGET} labels")
    return checked


def genesis_labels(target: Target) -> list[str]:
    """Create production and the on_apply labels at version 1, in target_create's transaction;
    their names go into the TargetCreated event, which is their history's start."""
    names = sorted({PRODUCTION, *target.on_apply})
    Label.objects.bulk_create([Label(target=target, name=n, version=1) for n in names])
    return names


def label_create(*, target: Target, name: str, actor: str, approvals: int | None = None) -> Label:
    """A new label, pointing where production points (its stable version during a rollout)."""
    label_name_check(name)
    if approvals is not None and approvals < 0:
        raise LabelError("approvals must be 0 (moves at once) or more")
    with transaction.atomic():
        target = Target.objects.select_for_update(no_key=True).get(pk=target.pk)
        labels = {label.name: label for label in Label.objects.filter(target=target)}
        if name in labels:
            raise LabelError(f"target {target.name} already has a label {name!r}")
        if len(labels) >= MAX_LABELS_PER_TARGET:
            raise LabelError(f"target {target.name} has {len(labels)} labels, the most it may have")
        production = labels.get(PRODUCTION)
        version = production.state.stable_version if production else target.version
        label = Label.objects.create(target=target, name=name, version=version, approvals=approvals)
        event_append(
            kind="LabelCreated",
            actor=actor,
            payload={
                "target": target.name,
                "label": name,
                "version": version,
                "approvals": approvals,
            },
        )
    return label


@dataclass(frozen=True)
class Move:
    """A move as it is asked for, checked against the label's state now."""

    from_version: int
    to_version: int
    percent: int


def move_check(*, label: Label, to_version: int, percent: int) -> Move:
    """The move, or LabelError saying why it cannot be made from the label's current state."""
    target = label.target
    if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= FULL:
        raise LabelError(f"percent must be a whole number from 1 to 100, got {percent!r}")
    if isinstance(to_version, bool) or not isinstance(to_version, int) or to_version < 1:
        raise LabelError(f"version must be a positive whole number, got {to_version!r}")
    if to_version > target.version:
        raise LabelError(
            f"target {target.name} has no version {to_version} (it is at version {target.version})"
        )
    state = label.state
    if to_version == state.stable_version and percent < FULL:
        if state.in_rollout:
            raise LabelError(
                f"v{to_version} is the version this rollout moves from: move {label.name} to it "
                "at 100 % to abort the rollout"
            )
        raise LabelError(
            f"{label.name} already serves v{to_version}: a staged rollout needs another version"
        )
    if to_version == state.version and percent == state.percent:
        raise LabelError(f"{label.name} already serves v{to_version} at {percent} %")
    return Move(from_version=state.moved_from(to_version), to_version=to_version, percent=percent)


def label_move(
    *,
    label: Label,
    to_version: int,
    percent: int,
    reason: str,
    requested_by: str | None,
    approved_by: Sequence[str],
    actor: str,
    extra: dict[str, Any] | None = None,
) -> Label:
    """Move the label and log LabelMoved, in the caller's transaction (or a new one).

    The caller holds the target's row lock (or this takes it), and has checked who asked and
    who approved; `extra` adds fields to the event (the apply's patch_hash, a request's id).
    """
    with transaction.atomic():
        target = Target.objects.select_for_update(no_key=True).get(pk=label.target_id)
        label = Label.objects.select_for_update().get(pk=label.pk)
        label.target = target
        move = move_check(label=label, to_version=to_version, percent=percent)
        after = label.state.after_move(to_version=to_version, percent=percent)
        label.version, label.from_version, label.percent = (
            after.version,
            after.from_version,
            after.percent,
        )
        label.save(update_fields=["version", "from_version", "percent", "moved_at"])
        event_append(
            kind="LabelMoved",
            actor=actor,
            payload={
                "target": target.name,
                "label": label.name,
                "from_version": move.from_version,
                "to_version": move.to_version,
                "percent": move.percent,
                "reason": reason,
                "requested_by": requested_by,
                "approved_by": sorted(approved_by),
                **(extra or {}),
            },
        )
    return label


def on_apply_labels(target: Target) -> list[str]:
    """The labels an apply of this target moves: those named in on_apply that exist (on_apply
    is checked when it is set; an apply must never fail on a setting)."""
    names = Label.objects.filter(target=target, name__in=target.on_apply).values_list(
        "name", flat=True
    )
    return sorted(names)


def labels_follow_apply(
    *, target: Target, proposal: Proposal, names: Sequence[str], actor: str
) -> None:
    """Move the named labels (on_apply_labels) to the target's new version: one LabelMoved per
    label, in the apply's transaction, after its PatchApplied (patches.lifecycle)."""
    labels = Label.objects.select_for_update().filter(target=target, name__in=names)
    for label in labels.order_by("name"):
        label.target = target
        label_move(
            label=label,
            to_version=target.version,
            percent=FULL,
            reason=f"applied {proposal.patch_hash} (proposal {proposal.pk})",
            requested_by=None,
            approved_by=[],
            actor=actor,
            extra={"patch_hash": proposal.patch_hash},
        )


@dataclass(frozen=True)
class LabelRead:
    """What GET /api/v1/targets/{name}?label=L&instance=I serves."""

    target: Target
    label: Label
    version: TargetVersion
    instance: str

    @property
    def rollout(self) -> dict[str, int] | None:
        state = self.label.state
        if not state.in_rollout:
            return None
        return {
            "from_version": state.stable_version,
            "to_version": state.version,
            "percent": state.percent,
            "bucket": bucket(self.target.name, self.label.name, self.instance),
        }


class LabelNotFound(LookupError):
    """No such target, or no such label on it (`missing` says which)."""

    def __init__(self, detail: str, missing: str) -> None:
        super().__init__(detail)
        self.missing = missing


def label_read(*, target_name: str, label_name: str, instance: str) -> LabelRead:
    """The version label_name serves to instance: two queries (label with target, version)."""
    # No target or label name holds a NUL, and PostgreSQL would refuse one in the query.
    if "\x00" in target_name or "\x00" in label_name:
        raise LabelNotFound(f"no target named {target_name!r}", "target")
    label = (
        Label.objects.select_related("target")
        .filter(target__name=target_name, name=label_name)
        .first()
    )
    if label is None:
        if not Target.objects.filter(name=target_name).exists():
            raise LabelNotFound(f"no target named {target_name!r}", "target")
        raise LabelNotFound(f"target {target_name} has no label {label_name!r}", "label")
    target = label.target
    served = label.state.served(target=target.name, label=label.name, instance=instance)
    version = TargetVersion.objects.get(target=target, version=served)
    version.target = target
    return LabelRead(target=target, label=label, version=version, instance=instance)
