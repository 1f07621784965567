"""Re-making a patch against a newer base, and whether two patches make the same change.

Pure (no ORM). The contract (DESIGN.md, "Revisions and review decisions"):
- rebase, text: every hunk's old lines (context and removed) are found in the new base at
  exactly one place, in order and not overlapping; the hunk moves there (an offset), never
  with fuzz. The re-made patch keeps every hunk's body byte for byte, with new line numbers.
- rebase, JSON: every operation applies to the new base with the same old values it had on
  the old base; the re-made patch is the same operations.
- same change: the same result bytes on the same base; or, on another base, for text the same
  hunks (each hunk's removed and added lines identical, in order; line numbers and unchanged
  context may differ), for JSON the same set of (pointer, old value, new value) leaf changes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import jsonpatch
import jsonpointer

from patches.canonical import canonical_text
from patches.formats.errors import PatchError
from patches.formats.json_patch import json_equal, parse_json_patch
from patches.formats.unified_diff import (
    NO_NEWLINE,
    apply_unified_diff,
    parse_unified_diff,
    split_lines,
)

SAME_RESULT = "same_result"
SAME_HUNKS = "same_hunks"
SAME_LEAF_CHANGES = "same_leaf_changes"


@dataclass(frozen=True)
class Conflict:
    """What no longer applies: a hunk ("hunk 2 (@@ -5,7 +5,8 @@)") or a JSON pointer."""

    where: str
    problem: str

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "problem": self.problem}


class RebaseConflict(Exception):
    def __init__(self, conflicts: list[Conflict]) -> None:
        super().__init__("; ".join(f"{c.where}: {c.problem}" for c in conflicts))
        self.conflicts = conflicts


# --- text -----------------------------------------------------------------------------------


def _places(lines: list[str], wanted: list[str], start: int) -> list[int]:
    """Every index >= start where `wanted` occurs in `lines` (at most two are needed)."""
    found: list[int] = []
    if not wanted:
        return found
    first, size = wanted[0], len(wanted)
    for index in range(start, len(lines) - size + 1):
        if lines[index] == first and lines[index : index + size] == wanted:
            found.append(index)
            if len(found) == 2:
                break
    return found


def text_rebase(*, new_base: str, patch: str) -> str:
    """The patch re-made against new_base, or RebaseConflict naming each hunk that does not fit."""
    hunks = parse_unified_diff(patch)
    lines = split_lines(new_base)
    conflicts: list[Conflict] = []
    out = ["--- a\n", "+++ b\n"]
    position = 0  # the first base line a later hunk may use
    delta = 0  # new-side lines minus old-side lines of the hunks so far
    for hunk in hunks:
        if not hunk.old:
            conflicts.append(Conflict(hunk.where, "it has no old lines to find in the new base"))
            continue
        everywhere = _places(lines, hunk.old, 0)
        if not everywhere:
            conflicts.append(
                Conflict(hunk.where, "its old lines are not in the new base (they changed)")
            )
            continue
        if len(everywhere) > 1:
            conflicts.append(
                Conflict(hunk.where, "its old lines occur at more than one place in the new base")
            )
            continue
        place = everywhere[0]
        if place < position:
            conflicts.append(
                Conflict(hunk.where, "its old lines moved before or into the previous hunk")
            )
            continue
        old_count, new_count = len(hunk.old), len(hunk.new)
        new_start = place + delta + (1 if new_count else 0)
        out.append(f"@@ -{place + 1},{old_count} +{new_start},{new_count} @@\n")
        out.extend(hunk.body)
        position = place + old_count
        delta += new_count - old_count
    if conflicts:
        raise RebaseConflict(conflicts)
    rebased = "".join(out)
    apply_unified_diff(new_base, rebased)  # the re-made patch applies by construction
    return rebased


def text_hunk_changes(patch: str) -> list[tuple[str, ...]]:
    """Each hunk's removed and added lines, in order, as the patch writes them (with the
    no-newline marker that follows a changed line); context lines are left out."""
    changes = []
    for hunk in parse_unified_diff(patch):
        lines: list[str] = []
        after_change = False
        for line in hunk.body:
            marker = line[:1]
            if marker in ("-", "+"):
                lines.append(line)
                after_change = True
            elif marker == "\\":
                if after_change:
                    lines.append(NO_NEWLINE)
            else:
                after_change = False
        changes.append(tuple(lines))
    return changes


# --- JSON -----------------------------------------------------------------------------------

_MISSING = object()


def _value_at(document: Any, pointer: str) -> Any:
    try:
        value = jsonpointer.JsonPointer(pointer).resolve(document)
    except (jsonpointer.JsonPointerException, KeyError, IndexError, TypeError):
        return _MISSING
    return _MISSING if isinstance(value, jsonpointer.EndOfList) else value


def _parent(pointer: str) -> str:
    return pointer.rsplit("/", 1)[0] if pointer else pointer


def _same(a: Any, b: Any) -> bool:
    if a is _MISSING or b is _MISSING:
        return a is b
    return json_equal(a, b)


def json_rebase(*, old_base: Any, new_base: Any, patch: str) -> str:
    """The same operations when each meets the same old values on new_base as on old_base,
    else RebaseConflict naming each pointer whose old value differs."""
    operations = parse_json_patch(patch)
    old_doc, new_doc = copy.deepcopy(old_base), copy.deepcopy(new_base)
    conflicts: list[Conflict] = []
    for index, operation in enumerate(operations):
        op, path = operation["op"], operation["path"]
        # What the operation reads: its path; for add into an array the whole array (adding
        # shifts its elements); and `from` for move and copy.
        read = [path]
        if op == "add" and isinstance(_value_at(old_doc, _parent(path)), list):
            read = [_parent(path)]
        if op in ("move", "copy"):
            read.append(operation["from"])
        differ = [p for p in read if not _same(_value_at(old_doc, p), _value_at(new_doc, p))]
        if differ:
            conflicts.append(
                Conflict(
                    f"operation {index} ({op} {path!r})",
                    f"the new base has another value at {differ[0]!r}",
                )
            )
            break  # later operations read what this one would have written
        try:
            old_doc = jsonpatch.JsonPatch([operation]).apply(old_doc, in_place=True)
            new_doc = jsonpatch.JsonPatch([operation]).apply(new_doc, in_place=True)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            conflicts.append(Conflict(f"operation {index} ({op} {path!r})", str(exc)))
            break
    if conflicts:
        raise RebaseConflict(conflicts)
    return patch


def _leaves(value: Any, pointer: str, out: dict[str, str]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _leaves(item, f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}", out)
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            _leaves(item, f"{pointer}/{index}", out)
    else:
        out[pointer] = canonical_text(value)


def json_leaf_changes(old: Any, new: Any) -> frozenset[tuple[str, str | None, str | None]]:
    """{(pointer, old leaf, new leaf)} for every leaf that differs; a leaf is a scalar or an
    empty container, as canonical JSON text; None where the leaf does not exist."""
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    _leaves(old, "", before)
    _leaves(new, "", after)
    return frozenset(
        (pointer, before.get(pointer), after.get(pointer))
        for pointer in before.keys() | after.keys()
        if before.get(pointer) != after.get(pointer)
    )


# --- the carried-approval rule ---------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One proposal's change: its base and result contents (canonical JSON text for JSON
    targets) and its patch."""

    base: str
    result: str
    patch: str


def same_change_rule(*, content_kind: str, approved: Change, revision: Change) -> str | None:
    """The rule under which approvals of `approved` carry to `revision`, or None (dropped)."""
    if approved.base == revision.base:
        return SAME_RESULT if approved.result == revision.result else None
    if content_kind == "text":
        try:
            same = text_hunk_changes(approved.patch) == text_hunk_changes(revision.patch)
        except PatchError:
            return None
        return SAME_HUNKS if same else None
    from patches.canonical import parse_json

    before = json_leaf_changes(parse_json(approved.base), parse_json(approved.result))
    after = json_leaf_changes(parse_json(revision.base), parse_json(revision.result))
    return SAME_LEAF_CHANGES if before == after else None
