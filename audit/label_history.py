"""Label history rebuilt from the log alone (pure: no Django), for replay and the stand-alone
verifier: which labels each target has, where each points after every move, and that every
move names an existing version and starts where the label was.

Events read, in seq order: TargetCreated (its "labels" are created at version 1), PatchApplied
(the target's next version; "labels_moved" names the labels its LabelMoved events move),
LabelCreated and LabelMoved.

A TargetCreated without "labels" predates labels: its target has a production label that
follows every apply (as the data migration that created it found it), until the label's first
LabelMoved or the target's first PatchApplied that names its labels_moved, from when on only
LabelMoved events move it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeGuard

from patches.rollout import FULL, LabelState

LABEL_KINDS = ("TargetCreated", "PatchApplied", "LabelCreated", "LabelMoved")


class LabelHistoryBroken(Exception):
    """The first event at which the label history does not hold."""

    def __init__(self, seq: int, problem: str) -> None:
        super().__init__(f"FAIL at seq {seq}: {problem}")
        self.seq = seq
        self.problem = problem


@dataclass
class _Target:
    version: int = 1
    labels: dict[str, LabelState] = field(default_factory=dict)
    following: set[str] = field(default_factory=set)  # labels that still follow every apply
    pending: set[str] = field(default_factory=set)  # labels_moved still waiting for LabelMoved
    applied_hash: str = ""

    def fix_following(self) -> None:
        for name in self.following:
            self.labels[name] = LabelState(version=self.version)
        self.following.clear()


def _int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class LabelHistory:
    """Feed the events in seq order; raises LabelHistoryBroken at the first broken one."""

    targets: dict[str, _Target] = field(default_factory=dict)
    moves: int = 0

    def feed(self, seq: int, kind: str, payload: Any) -> None:
        if kind not in LABEL_KINDS or not isinstance(payload, dict):
            return
        problem = getattr(self, "_" + kind)(payload)
        if problem:
            raise LabelHistoryBroken(seq, problem)

    def _target(self, payload: dict[str, Any]) -> _Target | None:
        return self.targets.get(payload.get("target"))  # type: ignore[arg-type]

    def _TargetCreated(self, payload: dict[str, Any]) -> str:
        labels = payload.get("labels")
        state = _Target()
        if labels is None:
            state.labels["production"] = LabelState(version=1)
            state.following.add("production")
        elif not isinstance(labels, list) or "production" not in labels:
            return f"TargetCreated of {payload.get('target')} has no production label"
        else:
            state.labels = {str(name): LabelState(version=1) for name in labels}
        self.targets[str(payload.get("target"))] = state
        return ""

    def _PatchApplied(self, payload: dict[str, Any]) -> str:
        target = self._target(payload)
        if target is None:
            return f"PatchApplied to {payload.get('target')}, which the log never created"
        if target.pending:
            return _unmoved(payload.get("target"), target)
        moved = payload.get("labels_moved")
        if moved is not None:
            target.fix_following()  # labels exist from here on: each move is its own event
            if not isinstance(moved, list) or not set(moved) <= set(target.labels):
                return f"PatchApplied of {payload.get('patch_hash')} moves labels it lacks: {moved}"
            target.pending = set(moved)
        target.applied_hash = str(payload.get("patch_hash"))
        if _int(payload.get("version")):
            target.version = payload["version"]
        return ""

    def _LabelCreated(self, payload: dict[str, Any]) -> str:
        target, name = self._target(payload), payload.get("label")
        if target is None:
            return f"label {name} created on {payload.get('target')}, which the log never created"
        if not isinstance(name, str) or name in target.labels:
            return f"label {name!r} of {payload.get('target')} is created twice"
        version = payload.get("version")
        if not _int(version) or not 1 <= version <= target.version:
            return f"label {name} of {payload.get('target')} is created at no version: {version!r}"
        target.labels[name] = LabelState(version=version)
        return ""

    def _LabelMoved(self, payload: dict[str, Any]) -> str:
        target, name = self._target(payload), payload.get("label")
        where = f"LabelMoved of {payload.get('target')}@{name}"
        if target is None or not isinstance(name, str) or name not in target.labels:
            return f"{where}: no such label"
        to_version, from_version, percent = (
            payload.get("to_version"),
            payload.get("from_version"),
            payload.get("percent"),
        )
        if not _int(to_version) or not 1 <= to_version <= target.version:
            return f"{where} names version {to_version!r}, which does not exist (the target is at {target.version})"
        if not _int(percent) or not 1 <= percent <= FULL:
            return f"{where}: percent {percent!r} is not 1 to 100"
        if name in target.following:
            target.following.discard(name)
            target.labels[name] = LabelState(version=target.version)
        state = target.labels[name]
        if from_version != state.moved_from(to_version):
            return f"{where} moves from v{from_version}, but the label served v{state.moved_from(to_version)}"
        if "patch_hash" in payload:
            if payload["patch_hash"] != target.applied_hash or name not in target.pending:
                return f"{where} claims the apply of {payload['patch_hash']}, which did not name it"
            if to_version != target.version or percent != FULL:
                return f"{where}: an apply moves its labels to its own version at 100 %"
            target.pending.discard(name)
        target.labels[name] = state.after_move(to_version=to_version, percent=percent)
        self.moves += 1
        return ""

    def finish(self) -> dict[str, dict[str, LabelState]]:
        """Every target's labels at the end of the log. Raises LabelHistoryBroken (seq 0) when
        an apply's labels_moved never got their LabelMoved."""
        for name, target in sorted(self.targets.items()):
            if target.pending:
                raise LabelHistoryBroken(0, _unmoved(name, target))
            target.fix_following()
        return {name: dict(t.labels) for name, t in self.targets.items()}


def _unmoved(name: Any, target: _Target) -> str:
    return (
        f"the apply of {target.applied_hash} to {name} named labels_moved "
        f"{sorted(target.pending)}, but no LabelMoved followed for them"
    )
