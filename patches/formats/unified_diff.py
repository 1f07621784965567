"""Strict unified diffs for text targets: apply exactly at the stated lines, and make them.

The format is the one `diff -u` and `git diff` write. Application is strict: every hunk's
context and removed lines must equal the base lines at the stated line numbers, including
their line endings ("\\r\\n" stays "\\r\\n"), the new-side line numbers must agree with the
hunks before them, and the counts in each header must match the body. No fuzz, no offsets,
so the same base and patch always give the same bytes or the same error.

Text is split into lines on "\\n" only (never `str.splitlines`, which also splits on "\\r",
"\\x0b", "\\u2028" and others that the diff format treats as ordinary characters).

"No change" rule: `make_unified_diff(x, x)` returns "" (as `diff -u` prints nothing for equal
files), and `apply_unified_diff` refuses "" like any other text without hunks ("patch has no
hunks"). A patch therefore always states at least one hunk; `patches.formats.apply_patch`
refuses a patch whose result equals its base, so a stored inverse patch is never "".
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from patches.formats.errors import PatchError

MAX_PATCH_LINES = 100_000
MAX_HUNK_LINES = MAX_PATCH_LINES  # a header promising more lines than a patch may hold
NO_NEWLINE = "\\ No newline at end of file"
CONTEXT_LINES = 3

_HUNK_HEADER = re.compile(r"@@ -(\d{1,9})(?:,(\d{1,9}))? \+(\d{1,9})(?:,(\d{1,9}))? @@")
# Lines that start a second file's diff; a target is one text, so a patch holds one file.
_FILE_HEADERS = ("diff ", "--- ", "+++ ", "Index: ", "index ")


@dataclass
class _Hunk:
    number: int  # 1-based, in patch order
    header: str  # "@@ -a,b +c,d @@", for messages
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    old: list[str] = field(default_factory=list)  # context and removed lines, with endings
    new: list[str] = field(default_factory=list)  # context and added lines, with endings
    changed: int = 0  # the body's "-" and "+" lines
    body: list[str] = field(default_factory=list)  # the body lines exactly as in the patch

    @property
    def where(self) -> str:
        return f"hunk {self.number} ({self.header})"


def split_lines(text: str) -> list[str]:
    """Lines of text, each keeping its "\\n"; the last one has none if text lacks a final newline."""
    lines = text.split("\n")
    last = lines.pop()
    result = [line + "\n" for line in lines]
    if last:
        result.append(last)
    return result


def _show(line: str) -> str:
    body = line[:-1] if line.endswith("\n") else line
    shown = repr(body if len(body) <= 80 else body[:77] + "...")
    return shown if line.endswith("\n") else f"{shown} (no newline at end of file)"


def _parse_header(line: str, number: int, patch_line: int) -> _Hunk:
    match = _HUNK_HEADER.match(line)
    if match is None:
        raise PatchError(
            f"malformed hunk header {line.rstrip()[:80]!r}: expected '@@ -a,b +c,d @@'",
            location=f"patch line {patch_line}",
        )
    old_start, old_count, new_start, new_count = (
        int(group) if group is not None else 1 for group in match.groups()
    )
    header = match.group(0)
    hunk = _Hunk(number, header, old_start, old_count, new_start, new_count)
    if old_count + new_count > MAX_HUNK_LINES:
        raise PatchError(
            f"the header counts {old_count + new_count} lines; at most {MAX_HUNK_LINES}",
            location=hunk.where,
        )
    if (old_count and not old_start) or (new_count and not new_start):
        raise PatchError("line numbers start at 1 for a side with lines", location=hunk.where)
    if not old_count and not new_count:
        raise PatchError("the hunk has no lines", location=hunk.where)
    return hunk


def _read_body(hunk: _Hunk, lines: list[str], index: int) -> int:
    """Fill hunk.old / hunk.new from lines[index:]; return the index after the hunk."""
    old_left, new_left = hunk.old_count, hunk.new_count
    ended = {"old": False, "new": False}  # a side's line without final newline was seen
    last_sides: tuple[str, ...] = ()
    while old_left or new_left or (index < len(lines) and lines[index].startswith("\\")):
        if index == len(lines):
            raise PatchError(
                f"the patch ends inside the hunk: {old_left} old and {new_left} new lines "
                "are missing (do the header counts match the body?)",
                location=hunk.where,
            )
        line = lines[index]
        index += 1
        if not line.endswith("\n") and not line.startswith("\\"):
            raise PatchError(
                f"the patch ends in the middle of line {line[:40]!r}: end it with a newline",
                location=f"{hunk.where}, patch line {index}",
            )
        marker, content = line[:1], line[1:]
        if line == "\n":  # an empty context line whose single space was stripped in transit
            marker, content = " ", "\n"
        if marker == "\\":
            if not last_sides:
                raise PatchError(
                    f"{NO_NEWLINE!r} must follow a line",
                    location=f"{hunk.where}, patch line {index}",
                )
            for side in last_sides:
                target = hunk.old if side == "old" else hunk.new
                target[-1] = target[-1].removesuffix("\n")
                ended[side] = True
            last_sides = ()
            continue
        if marker not in (" ", "-", "+"):
            raise PatchError(
                f"unexpected line {line.rstrip()[:80]!r} in the hunk body: a body line starts "
                "with ' ', '-', '+' or '\\' (do the header counts match the body?)",
                location=f"{hunk.where}, patch line {index}",
            )
        sides = {" ": ("old", "new"), "-": ("old",), "+": ("new",)}[marker]
        for side in sides:
            left = old_left if side == "old" else new_left
            if not left:
                raise PatchError(
                    f"more {side} lines than the header counts (line {line.rstrip()[:60]!r})",
                    location=f"{hunk.where}, patch line {index}",
                )
            if ended[side]:
                raise PatchError(
                    f"a line follows the {side} side's last line, which was marked {NO_NEWLINE!r}",
                    location=f"{hunk.where}, patch line {index}",
                )
        if marker != " ":
            hunk.changed += 1
        if "old" in sides:
            old_left -= 1
            hunk.old.append(content)
        if "new" in sides:
            new_left -= 1
            hunk.new.append(content)
        last_sides = sides
    return index


def parse_unified_diff(patch: str) -> list[_Hunk]:
    """The hunks of a one-file unified diff; headers before the first hunk are ignored."""
    if patch.count("\n") > MAX_PATCH_LINES:
        raise PatchError(f"the patch has more than {MAX_PATCH_LINES} lines")
    lines = split_lines(patch)
    hunks: list[_Hunk] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.startswith("@@"):
            hunk = _parse_header(line, len(hunks) + 1, index)
            start, index = index, _read_body(hunk, lines, index)
            hunk.body = lines[start:index]
            hunks.append(hunk)
        elif not hunks:
            if line.startswith(("Binary files ", "GIT binary patch")):
                raise PatchError("binary patches are not supported: send a text diff")
        elif line in ("\n", "\r\n") and all(rest in ("\n", "\r\n") for rest in lines[index:]):
            break  # blank lines at the very end, as editors and transports add them
        else:
            if line.startswith(_FILE_HEADERS):
                raise PatchError(
                    "the patch changes more than one file; send the diff of this target only",
                    location=f"patch line {index}",
                )
            raise PatchError(
                f"unexpected line {line.rstrip()[:80]!r} after the hunk: the body has more "
                "lines than its header counts, or text follows the diff",
                location=f"{hunks[-1].where}, patch line {index}",
            )
    if not hunks:
        raise PatchError("patch has no hunks: a unified diff needs at least one '@@ -a,b +c,d @@'")
    return hunks


def changed_line_count(patch: str) -> int:
    """Lines the patch removes plus lines it adds, as its hunks state them (PatchError if none).

    Read from the patch itself, not by matching base and result again: linear in the patch,
    and the count a reviewer sees in the diff.
    """
    return sum(hunk.changed for hunk in parse_unified_diff(patch))


def apply_unified_diff(base: str, patch: str) -> str:
    """The base with every hunk applied exactly where it says; PatchError says where it fails."""
    hunks = parse_unified_diff(patch)
    base_lines = split_lines(base)
    result: list[str] = []
    position = 0  # index in base_lines of the first line not yet copied
    for hunk in hunks:
        start = hunk.old_start - 1 if hunk.old_count else hunk.old_start
        if start < position:
            raise PatchError(
                f"it starts at line {hunk.old_start}, inside or before the previous hunk "
                "(hunks must be in order and must not overlap)",
                location=hunk.where,
            )
        if not hunk.old_count and start > len(base_lines):
            raise PatchError(
                f"it inserts after line {start} but the base has {len(base_lines)} lines",
                location=hunk.where,
            )
        if start + hunk.old_count > len(base_lines):
            raise PatchError(
                f"it needs base lines {hunk.old_start}..{start + hunk.old_count} but the base "
                f"has {len(base_lines)} lines",
                location=hunk.where,
            )
        result.extend(base_lines[position:start])
        expected_new_start = len(result) + (1 if hunk.new_count else 0)
        if hunk.new_start != expected_new_start:
            raise PatchError(
                f"the new side starts at line {hunk.new_start} but the hunks before it put it "
                f"at line {expected_new_start}",
                location=hunk.where,
            )
        for offset, wanted in enumerate(hunk.old):
            actual = base_lines[start + offset]
            if actual != wanted:
                raise PatchError(
                    f"line {start + offset + 1} expected {_show(wanted)} but base has {_show(actual)}",
                    location=hunk.where,
                )
        if result and not result[-1].endswith("\n"):
            raise PatchError(
                f"it adds lines after {_show(result[-1])}, which must stay the last line",
                location=hunk.where,
            )
        result.extend(hunk.new)
        position = start + hunk.old_count
    result.extend(base_lines[position:])
    for line in result[:-1]:
        if not line.endswith("\n"):
            raise PatchError(
                f"a line marked {NO_NEWLINE!r} ({_show(line)}) is not the last line of the result"
            )
    return "".join(result)


def make_unified_diff(old: str, new: str) -> str:
    """A diff (3 lines of context, `--- a` / `+++ b`) that turns old into new byte for byte.

    Equal texts give "" (see the module docstring for the "no change" rule).
    """
    if old == new:
        return ""
    out: list[str] = []
    for line in difflib.unified_diff(
        split_lines(old), split_lines(new), "a", "b", n=CONTEXT_LINES, lineterm="\n"
    ):
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n" + NO_NEWLINE + "\n")
    return "".join(out)
