"""Builds a Diff from two texts: line matching, collapsing, paging, highlighting, word marks."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from django.utils.safestring import SafeString, mark_safe

from console.diffs.highlight import (
    MAX_HIGHLIGHT_CHARS,
    Marks,
    Tokens,
    lexer_for,
    line_html,
    tokenize_lines,
    word_marks,
)
from console.diffs.matching import line_opcodes
from console.diffs.model import Block, Diff, OperationLine, Row
from console.diffs.render import rows_html
from patches.formats.unified_diff import split_lines

LANGUAGES = ("text", "markdown", "json")
MODES = ("unified", "split")
DEFAULT_MAX_LINES = 2000
# Gerrit's valve: word matching is quadratic-ish, so big changed blocks get a plain line diff.
MAX_WORD_DIFF_BLOCK_LINES = 200
# Up to this many rows the shown part is lexed as one text (collapsed lines included, so
# multi-line tokens are right); above it only changed lines and their context are lexed,
# hunk by hunk, and collapsed lines are shown plain.
WHOLE_TEXT_HIGHLIGHT_ROWS = 2500
# Unchanged lines embedded (behind "show N more lines") per part of a paged diff; runs past
# this are only counted, so a huge file with one change still renders at once.
COLLAPSED_EMBED_LINES = 20_000

# (kind, old index or None, new index or None)
_Spec = tuple[str, int | None, int | None]


class DiffOptions(TypedDict):
    mode: str
    offset: int
    max_lines: int | None


def json_for_diff(value: Any) -> str:
    """JSON as a diff shows it: sorted keys, indent 2, so line changes follow the structure."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def diff_request_options(query: Mapping[str, str]) -> DiffOptions:
    """build_diff keywords from a request's query (`mode`, `diff_offset`, `full`); bad values
    fall back to the defaults rather than failing the page."""
    mode = query.get("mode", "unified")
    try:
        offset = max(0, int(query.get("diff_offset", "0")))
    except ValueError:
        offset = 0
    full = query.get("full") in ("1", "true", "yes")
    return {
        "mode": mode if mode in MODES else "unified",
        "offset": 0 if full else offset,
        "max_lines": None if full else DEFAULT_MAX_LINES,
    }


def build_diff(
    *,
    old: str,
    new: str,
    language: str = "text",
    mode: str = "unified",
    context: int = 3,
    max_lines: int | None = DEFAULT_MAX_LINES,
    offset: int = 0,
    operations: Sequence[OperationLine] = (),
) -> Diff:
    """The diff of old → new: at most max_lines rows of changes and context from row `offset`
    (None: all), with the unchanged runs between them collapsed.

    language "json" pretty-prints both sides with json_for_diff first (text that is not JSON
    is shown as it is). Collapsed runs do not count as rows; they are embedded in the HTML (to
    expand without a request) up to COLLAPSED_EMBED_LINES per part, and beyond that only
    counted, with a "show all" link, unless the whole diff was asked for (max_lines=None).
    """
    if language not in LANGUAGES:
        raise ValueError(f"unknown diff language {language!r}: use one of {', '.join(LANGUAGES)}")
    if mode not in MODES:
        raise ValueError(f"unknown diff mode {mode!r}: use unified or split")
    if language == "json":
        old, new = _pretty_json(old), _pretty_json(new)
    # The one line model of diff and apply: only \n ends a line.
    old_lines, new_lines = split_lines(old), split_lines(new)
    # Exact matching within a step budget; past it, the coarser diff (diff.coarse says so).
    opcodes, coarse = line_opcodes(old_lines, new_lines)
    segments = _segments(opcodes, context=context)
    added = sum(j2 - j1 for tag, _, _, j1, j2 in opcodes if tag in ("insert", "replace"))
    removed = sum(i2 - i1 for tag, i1, i2, _, _ in opcodes if tag in ("delete", "replace"))

    split = mode == "split"
    total = sum(_row_count(segment, split) for segment in segments if not segment[5])
    offset = min(offset, max(0, total - 1)) if total else 0
    stop = total if max_lines is None else min(total, offset + max(1, max_lines))
    embed_budget = None if max_lines is None else COLLAPSED_EMBED_LINES

    # The shown part: (collapsed, hidden count, specs) per segment within [offset, stop).
    window: list[tuple[bool, int, list[_Spec]]] = []
    pairs: list[tuple[int, int]] = []
    words_skipped = False
    cursor = 0
    for segment in segments:
        tag, i1, i2, j1, j2, collapsed = segment
        if collapsed:
            # A collapsed run belongs to the part that starts at or runs through its position.
            if offset <= cursor and (cursor < stop or stop == total):
                length = i2 - i1
                if embed_budget is None or length <= embed_budget:
                    embed_budget = None if embed_budget is None else embed_budget - length
                    window.append((True, 0, _expand(segment, split)))
                else:
                    window.append((True, length, []))
            continue
        count = _row_count(segment, split)
        if cursor + count > offset and cursor < stop:
            specs = _expand(segment, split)[max(0, offset - cursor) : stop - cursor]
            window.append((False, 0, specs))
            if tag == "replace":
                if max(i2 - i1, j2 - j1) > MAX_WORD_DIFF_BLOCK_LINES:
                    words_skipped = True
                else:
                    pairs.extend((i1 + k, j1 + k) for k in range(min(i2 - i1, j2 - j1)))
        cursor += count
        if cursor >= stop and stop < total:
            break

    old_display = _Display(old_lines)
    new_display = _Display(new_lines)
    embedded_rows = sum(len(specs) for _, _, specs in window)
    whole = embedded_rows <= WHOLE_TEXT_HIGHLIGHT_ROWS
    old_wanted: set[int] = set()
    new_wanted: set[int] = set()
    for collapsed, _, specs in window:
        if collapsed and not whole:
            continue
        for kind, i, j in specs:
            if j is not None:
                new_wanted.add(j)
            # Unchanged lines show the new side's tokens; the old side is lexed for its own
            # changed lines, and (within the whole-text bound) for its context too, so its
            # multi-line tokens are right as well.
            if i is not None and (kind != "equal" or whole):
                old_wanted.add(i)
    lexer = lexer_for(language)
    old_tokens = _tokens(lexer, old_display, old_wanted)
    new_tokens = _tokens(lexer, new_display, new_wanted)

    old_marks: dict[int, Marks] = {}
    new_marks: dict[int, Marks] = {}
    for i, j in pairs:
        if len(old_display[i]) > MAX_HIGHLIGHT_CHARS or len(new_display[j]) > MAX_HIGHLIGHT_CHARS:
            words_skipped = True
            continue
        old_marks[i], new_marks[j] = word_marks(old_display[i], new_display[j])

    def cell(
        lines: list[str],
        display: _Display,
        tokens: dict[int, Tokens],
        marks: dict[int, Marks],
        index: int | None,
    ) -> SafeString:
        if index is None:
            return SafeString("")
        line_tokens = tokens.get(index) or [("", display[index])]
        # Only our own composition of escaped pieces is marked safe.
        return mark_safe(line_html(line_tokens, marks.get(index, [])) + _ending(lines[index]))  # noqa: S308

    blocks: list[Block] = []
    pending: list[Row] = []  # consecutive shown rows, merged into one block
    for collapsed, hidden, specs in window:
        rows = []
        for kind, i, j in specs:
            new_html = cell(new_lines, new_display, new_tokens, new_marks, j)
            old_html = (
                new_html
                if kind == "equal"
                else cell(old_lines, old_display, old_tokens, old_marks, i)
            )
            number_old = None if i is None else i + 1
            number_new = None if j is None else j + 1
            rows.append(Row(kind, number_old, number_new, old_html, new_html))
        if not collapsed:
            pending.extend(rows)
            continue
        if pending:
            blocks.append(Block(False, pending, rows_html(pending, mode)))
            pending = []
        blocks.append(Block(True, rows, rows_html(rows, mode), hidden=hidden))
    if pending:
        blocks.append(Block(False, pending, rows_html(pending, mode)))

    return Diff(
        mode=mode,
        language=language,
        blocks=blocks,
        added=added,
        removed=removed,
        total_rows=total,
        offset=offset,
        shown_rows=stop - offset,
        truncated=stop < total,
        next_offset=stop if stop < total else None,
        words_skipped=words_skipped,
        operations=list(operations),
        coarse=coarse,
    )


class _Display:
    """Lines as shown, computed on first use: a big text's unshown lines cost nothing."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines
        self._shown: dict[int, str] = {}

    def __getitem__(self, index: int) -> str:
        text = self._shown.get(index)
        if text is None:
            text = self._shown[index] = _display(self._lines[index])
        return text


def _pretty_json(text: str) -> str:
    if not text.strip():
        return text
    try:
        return json_for_diff(json.loads(text))
    except (ValueError, RecursionError):
        return text


def _display(line: str) -> str:
    text = line[:-1] if line.endswith("\n") else line
    text = text[:-1] if text.endswith("\r") else text
    # A lone carriage return would start a new line for the lexer and the browser.
    return text.replace("\r", "\u240d")


def _ending(line: str) -> str:
    if line.endswith("\r\n"):
        return '<span class="diff-eol" title="CRLF line ending">\u240d</span>'
    if not line.endswith("\n"):
        return '<span class="diff-eol">\\ No newline at end of file</span>'
    return ""


def _segments(
    opcodes: Sequence[tuple[str, int, int, int, int]], *, context: int
) -> list[tuple[str, int, int, int, int, bool]]:
    """Opcodes with each long unchanged run split into shown context and a collapsed middle."""
    segments: list[tuple[str, int, int, int, int, bool]] = []
    last = len(opcodes) - 1
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag != "equal":
            segments.append((tag, i1, i2, j1, j2, False))
            continue
        head = 0 if index == 0 else context  # context after the previous change
        tail = 0 if index == last else context  # context before the next change
        length = i2 - i1
        if length - head - tail < 1:
            segments.append((tag, i1, i2, j1, j2, False))
            continue
        if head:
            segments.append((tag, i1, i1 + head, j1, j1 + head, False))
        segments.append((tag, i1 + head, i2 - tail, j1 + head, j2 - tail, True))
        if tail:
            segments.append((tag, i2 - tail, i2, j2 - tail, j2, False))
    return segments


def _row_count(segment: tuple[str, int, int, int, int, bool], split: bool) -> int:
    tag, i1, i2, j1, j2, _ = segment
    if tag == "equal" or tag == "delete":
        return i2 - i1
    if tag == "insert":
        return j2 - j1
    return max(i2 - i1, j2 - j1) if split else (i2 - i1) + (j2 - j1)


def _expand(segment: tuple[str, int, int, int, int, bool], split: bool) -> list[_Spec]:
    tag, i1, i2, j1, j2, _ = segment
    if tag == "equal":
        return [("equal", i1 + k, j1 + k) for k in range(i2 - i1)]
    deleted: list[_Spec] = [("delete", i, None) for i in range(i1, i2)]
    inserted: list[_Spec] = [("insert", None, j) for j in range(j1, j2)]
    if not split:
        return deleted + inserted
    paired = min(i2 - i1, j2 - j1)
    specs: list[_Spec] = [("replace", i1 + k, j1 + k) for k in range(paired)]
    return specs + deleted[paired:] + inserted[paired:]


def _tokens(lexer: object, display: _Display, wanted: set[int]) -> dict[int, Tokens]:
    """Tokens of the wanted lines, lexing each contiguous run of them as one text; lines over
    the length bound are left out (shown plain) and cut the runs."""
    result: dict[int, Tokens] = {}
    if lexer is None:
        return result
    runs: list[list[int]] = []
    for index in sorted(wanted):
        if len(display[index]) > MAX_HIGHLIGHT_CHARS:
            continue
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    for run in runs:
        lines = [display[index] for index in run]
        for index, tokens in zip(run, tokenize_lines(lexer, lines), strict=True):  # type: ignore[arg-type]
            result[index] = tokens
    return result
