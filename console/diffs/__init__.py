"""The diff engine: two texts in, a Diff the partial templates/console/diff.html renders.

Pure logic (no ORM), so it can be tested and benchmarked alone.

Using it from a page view::

    from console.diffs import build_diff, describe_json_patch, diff_request_options

    diff = build_diff(
        old=base_content,                  # text, or canonical JSON text for JSON targets
        new=new_content,
        language="markdown",               # "markdown" for Prompt, "json" for the rest, or "text"
        operations=describe_json_patch(base_value, proposal.patch),  # JSON targets; else omit
        **diff_request_options(request.GET),  # mode, offset, max_lines from ?mode= ?diff_offset= ?full=
    )
    # page: {% include "console/diff.html" with diff=diff %}
    # htmx (request.htmx): render "console/diff.html" alone with {"diff": diff}

Context contract of console/diff.html: one variable `diff`, a `Diff` (see model.py). The
partial's root is `<div id="diff" data-testid="diff">`; its mode links and "load the rest" /
"show all" links are relative (`?mode=split`, `?mode=split&diff_offset=2000`, `?mode=split&full=1`)
with hx-get to the same URL, hx-target="#diff" and hx-swap="outerHTML", so the page URL must
render this diff for those query parameters (and only the partial when request.htmx). The
partial needs static/console/diff.css and static/console/pygments.css on the page.

What a Diff shows: rows of changes with `context` unchanged lines around them, at most
max_lines rows per part (paged by `offset`); the unchanged runs between them are collapsed
blocks, embedded behind "show N more lines" (<details>, no JS needed) up to 20,000 lines per
part and only counted ("N unchanged lines not shown", linking to ?full=1) beyond that.
Safety valves: lines over 500 characters are neither highlighted nor word-diffed; changed
blocks over 200 lines get no word diff; above 2,500 shown rows only changed lines and their
context are lexed (hunk by hunk) and collapsed lines are shown plain; line matching has a step
budget (console/diffs/matching.py), past which the diff is a coarser one and `diff.coarse` is
set, which the partial states in a note (`data-testid="diff-coarse"`).
"""

from console.diffs.engine import (
    DEFAULT_MAX_LINES,
    MAX_WORD_DIFF_BLOCK_LINES,
    build_diff,
    diff_request_options,
    json_for_diff,
)
from console.diffs.highlight import MAX_HIGHLIGHT_CHARS, pygments_css
from console.diffs.json_ops import describe_json_patch
from console.diffs.model import Block, Diff, OperationLine, Row

__all__ = [
    "DEFAULT_MAX_LINES",
    "MAX_HIGHLIGHT_CHARS",
    "MAX_WORD_DIFF_BLOCK_LINES",
    "Block",
    "Diff",
    "OperationLine",
    "Row",
    "build_diff",
    "describe_json_patch",
    "diff_request_options",
    "json_for_diff",
    "pygments_css",
]
