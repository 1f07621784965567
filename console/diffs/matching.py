"""Line matching with a bounded cost: difflib's exact matcher within a step budget, else a
coarser patience-style diff anchored on lines that occur once on each side.

difflib.SequenceMatcher (without autojunk, so every line may match) is quadratic, and worse
on texts with many repeated lines: a blank line in a long Markdown prompt can match at
thousands of places, and each longest-match search walks them all. A 90 kB patch against a
600-line prompt took 50 s. Here every search is charged, before it runs, the steps its inner
loop can take (the lines it scans plus every position in the other text where each of them
occurs); once a diff's searches would pass MAX_MATCH_STEPS, exact matching stops. The budget
counts steps, not seconds, so the same two texts always give the same diff.

The coarser diff matches the common head and tail, then the lines that are unique in both
texts, in the longest order-preserving run of them (patience diff); each gap between two
anchors gets the exact matcher again from a second budget of the same size, and once that is
spent, the rest of the gaps are shown as removed and added blocks.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from difflib import SequenceMatcher
from itertools import accumulate
from typing import Any

# Steps of the longest-match inner loop one exact attempt may spend: 0.15 to 0.3 s of CPU (a
# step takes 80 to 140 ns); the coarser diff's gaps get as many again. The 10,000-line prompt
# of bench/diff_bench.py with 2% of its lines changed needs 0.5 M.
MAX_MATCH_STEPS = 2_000_000

Opcode = tuple[str, int, int, int, int]
_Block = tuple[int, int, int]  # (old index, new index, length) of equal lines


class _OverBudget(Exception):
    pass


class _Budget:
    def __init__(self, steps: int) -> None:
        self.left = steps

    def spend(self, steps: int) -> None:
        self.left -= steps
        if self.left < 0:
            raise _OverBudget


class _BoundedMatcher(SequenceMatcher):  # type: ignore[type-arg]
    """difflib's matcher whose every longest-match search is charged to a budget first."""

    def __init__(self, a: Sequence[str], b: Sequence[str], budget: _Budget) -> None:
        super().__init__(None, a, b, autojunk=False)
        self._budget = budget
        self._size_a = len(a)
        # b2j (line → its positions in b) is difflib's own index, built by the constructor.
        b2j: dict[str, list[int]] = self.b2j  # type: ignore[attr-defined]
        # cost[i] = the steps to scan a[:i]: one per line, plus its occurrences in b.
        self._cost = [0, *accumulate(1 + len(b2j.get(line, ())) for line in a)]

    def find_longest_match(
        self, alo: int = 0, ahi: Any = None, blo: int = 0, bhi: Any = None
    ) -> Any:
        ahi = self._size_a if ahi is None else ahi
        self._budget.spend(self._cost[ahi] - self._cost[alo])
        return super().find_longest_match(alo, ahi, blo, bhi)


def line_opcodes(a: Sequence[str], b: Sequence[str]) -> tuple[list[Opcode], bool]:
    """SequenceMatcher-style opcodes turning a into b, and whether they are the coarser diff."""
    try:
        matcher = _BoundedMatcher(a, b, _Budget(MAX_MATCH_STEPS))
        exact: list[Opcode] = [(op, i1, i2, j1, j2) for op, i1, i2, j1, j2 in matcher.get_opcodes()]
        return exact, False
    except _OverBudget:
        pass
    return _opcodes(_coarse_blocks(a, b), len(a), len(b)), True


def _coarse_blocks(a: Sequence[str], b: Sequence[str]) -> list[_Block]:
    head = 0
    limit = min(len(a), len(b))
    while head < limit and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < limit - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    blocks: list[_Block] = [(0, 0, head)] if head else []
    budget = _Budget(MAX_MATCH_STEPS)
    i, j = head, head
    for ai, bj in _unique_anchors(a, b, head, len(a) - tail, head, len(b) - tail):
        blocks += _gap_blocks(a, b, i, ai, j, bj, budget)
        blocks.append((ai, bj, 1))
        i, j = ai + 1, bj + 1
    blocks += _gap_blocks(a, b, i, len(a) - tail, j, len(b) - tail, budget)
    if tail:
        blocks.append((len(a) - tail, len(b) - tail, tail))
    return blocks


def _unique_anchors(
    a: Sequence[str], b: Sequence[str], alo: int, ahi: int, blo: int, bhi: int
) -> list[tuple[int, int]]:
    """Pairs (i, j) with a[i] == b[j] occurring once in a[alo:ahi] and once in b[blo:bhi],
    the longest run of them increasing on both sides (patience sorting)."""
    seen_a: dict[str, int | None] = {}
    for i in range(alo, ahi):
        seen_a[a[i]] = None if a[i] in seen_a else i
    seen_b: dict[str, int | None] = {}
    for j in range(blo, bhi):
        line = b[j]
        if line in seen_a and seen_a[line] is not None:
            seen_b[line] = None if line in seen_b else j
    pairs = sorted(
        (at, j) for line, j in seen_b.items() if j is not None and (at := seen_a[line]) is not None
    )
    # Longest increasing subsequence of the new-side positions, in O(k log k).
    tops: list[int] = []  # the smallest j ending a run of each length
    top_index: list[int] = []  # which pair that is
    previous: list[int] = []
    for index, (_, j) in enumerate(pairs):
        length = bisect_left(tops, j)
        if length == len(tops):
            tops.append(j)
            top_index.append(index)
        else:
            tops[length] = j
            top_index[length] = index
        previous.append(top_index[length - 1] if length else -1)
    run: list[tuple[int, int]] = []
    index = top_index[-1] if top_index else -1
    while index >= 0:
        run.append(pairs[index])
        index = previous[index]
    return run[::-1]


def _gap_blocks(
    a: Sequence[str], b: Sequence[str], alo: int, ahi: int, blo: int, bhi: int, budget: _Budget
) -> list[_Block]:
    """Equal lines between two anchors: exact while the budget lasts, else none."""
    if alo == ahi or blo == bhi:
        return []
    try:
        matcher = _BoundedMatcher(a[alo:ahi], b[blo:bhi], budget)
        return [(alo + i, blo + j, n) for i, j, n in matcher.get_matching_blocks() if n]
    except _OverBudget:
        budget.left = 0
        return []


def _opcodes(blocks: list[_Block], size_a: int, size_b: int) -> list[Opcode]:
    """Opcodes from increasing, non-overlapping equal blocks, as difflib derives them; adjacent
    blocks are merged first, so each unchanged run is one `equal`."""
    merged: list[_Block] = []
    for i, j, n in blocks:
        if merged and merged[-1][0] + merged[-1][2] == i and merged[-1][1] + merged[-1][2] == j:
            merged[-1] = (merged[-1][0], merged[-1][1], merged[-1][2] + n)
        else:
            merged.append((i, j, n))
    opcodes: list[Opcode] = []
    i = j = 0
    for ai, bj, n in [*merged, (size_a, size_b, 0)]:
        if i < ai and j < bj:
            opcodes.append(("replace", i, ai, j, bj))
        elif i < ai:
            opcodes.append(("delete", i, ai, j, bj))
        elif j < bj:
            opcodes.append(("insert", i, ai, j, bj))
        i, j = ai + n, bj + n
        if n:
            opcodes.append(("equal", ai, i, bj, j))
    return opcodes
