"""RFC 6902 JSON Patch for JSON targets, applied to a copy of the base (via `jsonpatch`).

Hardening over the library: `test` compares JSON values strictly (true is not 1, at any depth,
while 1 and 1.0 are equal numbers as RFC 6902 says); `copy` may not duplicate more than a node
budget nor more bytes than the content limit (a few self-copies would otherwise double the
document each time, and one big string copied a thousand times is a few nodes but a gigabyte);
the result may not be larger than the content limit, which is checked before it is ever
canonicalized, nor nest deeper than the canonicalizer allows; and a made patch is checked by
applying it, falling back to one whole-document `replace` when the library's diff would not
reproduce the new value.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

import jsonpatch
import jsonpointer

from patches.canonical import (
    CanonicalizationError,
    JSONInputError,
    canonical,
    canonical_text,
    json_depth,
    parse_json,
)
from patches.formats.errors import PatchError

MAX_OPERATIONS = 10_000
MAX_COPIED_NODES = 200_000  # total JSON nodes all `copy` operations of one patch may duplicate
# The most bytes a patch may make a target's content, and copy in all. The test gate fails any
# candidate over 1,000,000 characters (patches.testgate.kinds), at most 4,000,000 bytes of
# UTF-8, so nothing it could pass is refused here. The console's MAX_TARGET_CONTENT_BYTES
# setting may lower it at the door, never raise it: applying, the proposal page and replay
# keep this one.
MAX_CONTENT_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
OPS = ("add", "remove", "replace", "move", "copy", "test")


class ContentTooLarge(PatchError):
    """A patch that would make content over the byte limit, or copy more than it in all."""

    def __init__(self, message: str, *, limit: int, location: str = "") -> None:
        super().__init__(message, location=location)
        self.limit = limit


def parse_json_patch(patch: str) -> list[dict[str, Any]]:
    """The operations of a JSON Patch document, checked for shape before anything is applied."""
    try:
        operations = parse_json(patch)
    except JSONInputError as exc:
        raise PatchError(f"patch is not JSON: {exc}") from exc
    if not isinstance(operations, list):
        raise PatchError("a JSON Patch is an array of operations")
    if len(operations) > MAX_OPERATIONS:
        raise PatchError(f"at most {MAX_OPERATIONS} operations, got {len(operations)}")
    for index, operation in enumerate(operations):
        where = f"operation {index}"
        if not isinstance(operation, dict):
            raise PatchError("an operation is an object", location=where)
        op = operation.get("op")
        if op not in OPS:
            raise PatchError(f"unknown op {op!r}: use one of {', '.join(OPS)}", location=where)
        if not isinstance(operation.get("path"), str):
            raise PatchError("'path' must be a JSON Pointer string", location=where)
        if op in ("add", "replace", "test") and "value" not in operation:
            raise PatchError(f"'{op}' needs a 'value'", location=where)
        if op in ("move", "copy") and not isinstance(operation.get("from"), str):
            raise PatchError(f"'{op}' needs a 'from' pointer", location=where)
    return operations


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def json_equal(left: Any, right: Any) -> bool:
    """RFC 6902 equality: same JSON type and value; numbers compare numerically."""
    stack = [(left, right)]
    while stack:
        a, b = stack.pop()
        if _kind(a) != _kind(b):
            return False
        if isinstance(a, list):
            if len(a) != len(b):
                return False
            stack.extend(zip(a, b, strict=True))
        elif isinstance(a, dict):
            if a.keys() != b.keys():
                return False
            stack.extend((a[key], b[key]) for key in a)
        elif a != b:
            return False
    return True


def json_size(value: Any, *, max_bytes: int, max_nodes: int = sys.maxsize) -> tuple[int, int]:
    """(bytes, nodes): a lower bound of the size of value's canonical UTF-8 text, in which every
    string and key counts its length, and its JSON node count. Counting stops as soon as
    either passes its limit, so the cost is bounded by the limits, not by the value."""
    size = nodes = 0
    stack = [value]
    while stack and size <= max_bytes and nodes <= max_nodes:
        item = stack.pop()
        nodes += 1
        kind = type(item)
        if kind is str:
            size += len(item) + 2  # a code point is at least one byte; escapes only add
        elif kind is dict:
            # Braces and separators, then each key with its quotes and colon.
            size += 1 + len(item) + sum(len(key) + 3 for key in item)
            stack.extend(item.values())
        elif kind is list:
            size += 1 + len(item)
            stack.extend(item)
        else:
            size += 1  # a number, true, false or null: at least one byte
    return size, nodes


def _test(document: Any, operation: dict[str, Any]) -> None:
    actual = jsonpointer.JsonPointer(operation["path"]).resolve(document)
    if isinstance(actual, jsonpointer.EndOfList):
        raise PatchError("'-' names no element to test")
    if not json_equal(actual, operation["value"]):
        raise PatchError(
            f"test failed: the value is {_short(actual)}, not {_short(operation['value'])}"
        )


def _short(value: Any) -> str:
    try:
        text = canonical_text(value)
    except CanonicalizationError:
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def apply_json_patch(base: Any, patch: str, *, max_bytes: int = MAX_CONTENT_BYTES) -> Any:
    """The patched value; base is never modified. Errors name the failing operation.

    Raises ContentTooLarge when the copies add up to more than max_bytes, or the result is
    larger than max_bytes (as json_size counts it; the caller checks the exact canonical size).
    """
    operations = parse_json_patch(patch)
    document = copy.deepcopy(base)
    nodes_left, bytes_left = MAX_COPIED_NODES, max_bytes
    for index, operation in enumerate(operations):
        where = f"operation {index} ({operation['op']} {operation['path']!r})"
        try:
            if operation["op"] == "test":
                _test(document, operation)
                continue
            if operation["op"] == "copy":
                source = jsonpointer.JsonPointer(operation["from"]).resolve(document)
                size, nodes = json_size(source, max_bytes=bytes_left, max_nodes=nodes_left)
                nodes_left, bytes_left = nodes_left - nodes, bytes_left - size
                if nodes_left < 0:
                    raise PatchError(f"copies more than {MAX_COPIED_NODES} JSON nodes in all")
                if bytes_left < 0:
                    raise ContentTooLarge(
                        f"copies more than {max_bytes} bytes of JSON in all",
                        limit=max_bytes,
                        location=where,
                    )
            # One operation at a time on our own copy: errors name it, and no per-op deep copy.
            document = jsonpatch.JsonPatch([operation]).apply(document, in_place=True)
        except ContentTooLarge:
            raise
        except PatchError as exc:
            raise PatchError(exc.message, location=where) from exc
        except jsonpatch.JsonPatchTestFailed as exc:
            raise PatchError(f"test failed: {exc}", location=where) from exc
        except (jsonpatch.JsonPatchConflict, jsonpatch.JsonPatchException) as exc:
            raise PatchError(str(exc), location=where) from exc
        except jsonpointer.JsonPointerException as exc:
            raise PatchError(f"bad pointer: {exc}", location=where) from exc
        except RecursionError as exc:
            raise PatchError(f"the document nests too deeply: {exc}", location=where) from exc
        except (TypeError, KeyError, IndexError, ValueError, AttributeError) as exc:
            raise PatchError(f"does not apply: {exc}", location=where) from exc
    if json_size(document, max_bytes=max_bytes)[0] > max_bytes:
        raise ContentTooLarge(
            f"the patched document is over the limit of {max_bytes} bytes", limit=max_bytes
        )
    if json_depth(document) > MAX_DEPTH:
        raise PatchError(f"the patched document nests deeper than {MAX_DEPTH} levels")
    return document


def make_json_patch(old: Any, new: Any) -> str:
    """A JSON Patch (canonical text) that turns old into new; equal values give "[]"."""
    expected = canonical(new)
    if canonical(old) == expected:
        return "[]"
    try:
        operations = jsonpatch.make_patch(old, new).patch
        text = canonical_text(operations)
        if canonical(apply_json_patch(old, text)) == expected:
            return text
    except (PatchError, CanonicalizationError, RecursionError, TypeError, ValueError):
        pass
    # The library's diff can miss changes 1 == true hides, or misorder array moves.
    return canonical_text([{"op": "replace", "path": "", "value": new}])
