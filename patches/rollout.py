"""Which version a label serves to an agent instance: the sticky rollout bucket (pure, no ORM).

The contract (DESIGN.md, "Labels and staged rollout"): bucket = the first 4 bytes of
SHA-256(UTF-8 of target + "/" + label + "/" + instance) as a big-endian integer, mod 100; a label
in a rollout serves `to_version` to the instances whose bucket is below `percent` and
`from_version` to the rest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

FULL = 100  # percent of a label that is not in a rollout


def bucket(target: str, label: str, instance: str) -> int:
    digest = hashlib.sha256(f"{target}/{label}/{instance}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100


@dataclass(frozen=True)
class LabelState:
    """Where a label points: `version`, or during a rollout `version` (to) for `percent` of the
    instances and `from_version` for the rest."""

    version: int
    from_version: int | None = None
    percent: int = FULL

    @property
    def in_rollout(self) -> bool:
        return self.percent < FULL and self.from_version is not None

    @property
    def stable_version(self) -> int:
        """What the instances outside the rollout get (all of them when there is none)."""
        return self.from_version if self.in_rollout and self.from_version else self.version

    def served(self, *, target: str, label: str, instance: str) -> int:
        if not self.in_rollout:
            return self.version
        return (
            self.version if bucket(target, label, instance) < self.percent else self.stable_version
        )

    def after_move(self, *, to_version: int, percent: int) -> LabelState:
        """The state a move to `to_version` at `percent` leaves: a step of the rollout to the same
        version keeps its from_version; a move back to the rollout's from_version aborts it; a move
        to 100 % ends any rollout."""
        if percent >= FULL or to_version == self.stable_version:
            return LabelState(version=to_version)
        return LabelState(version=to_version, from_version=self.stable_version, percent=percent)

    def moved_from(self, to_version: int) -> int:
        """A move's `from_version` as LabelMoved records it: the version everyone outside the
        rollout got before the move, or, for the move back that aborts a rollout, the version
        the rollout was moving to."""
        if self.in_rollout and to_version == self.stable_version:
            return self.version
        return self.stable_version
