"""The shapes a rendered diff is made of: rows, blocks, the diff itself, JSON Patch lines."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.safestring import SafeString


@dataclass(frozen=True, slots=True)
class Row:
    """One displayed line (unified) or line pair (split).

    kind: "equal", "insert", "delete", or (split mode only) "replace" for a paired change.
    A side that has no line in this row has number None and empty html.
    """

    kind: str
    old_number: int | None
    new_number: int | None
    old_html: SafeString
    new_html: SafeString

    @property
    def html(self) -> SafeString:
        """The one code cell of a unified row: the old line for deletions, else the new one."""
        return self.old_html if self.kind == "delete" else self.new_html


@dataclass(frozen=True, slots=True)
class Block:
    """Consecutive rows; collapsed blocks are unchanged lines hidden behind "show N more lines".

    A collapsed block with `hidden` > 0 has no rows: its lines were too many to embed.
    """

    collapsed: bool
    rows: list[Row]
    html: SafeString  # the rows as HTML, for the diff's mode (render.rows_html)
    hidden: int = 0

    @property
    def count(self) -> int:
        return self.hidden or len(self.rows)


@dataclass(frozen=True, slots=True)
class OperationLine:
    """One JSON Patch operation in words: `/routes/billing/weight: 0.3 → 0.45`."""

    op: str
    path: str
    text: str
    ok: bool = True  # False when the operation does not apply to the base


@dataclass(slots=True)
class Diff:
    mode: str  # "unified" or "split"
    language: str  # "text", "markdown" or "json"
    blocks: list[Block]
    added: int  # lines added in the whole diff, not only in the shown part
    removed: int
    total_rows: int  # rows of the whole diff in this mode
    offset: int  # index of the first shown row
    shown_rows: int
    truncated: bool  # rows remain after the shown part
    next_offset: int | None  # the offset that shows the next part, when truncated
    words_skipped: bool  # some changed block was over the word-diff bound
    operations: list[OperationLine] = field(default_factory=list)
    # The lines were too costly to match exactly (console.diffs.matching): unchanged lines may
    # be shown as removed and added again, never the other way round.
    coarse: bool = False

    @property
    def identical(self) -> bool:
        return self.added == 0 and self.removed == 0

    @property
    def remaining_rows(self) -> int:
        return max(0, self.total_rows - self.offset - self.shown_rows)
