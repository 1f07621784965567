"""RFC 6902 JSON Patch for JSON targets, applied to a copy of the base (via `jsonpatch`)."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer

from patches.canonical import JSONInputError, canonical_text, parse_json
from patches.formats.errors import PatchError

MAX_OPERATIONS = 10_000


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
        if op not in ("add", "remove", "replace", "move", "copy", "test"):
            raise PatchError(f"unknown op {op!r}", location=where)
        if not isinstance(operation.get("path"), str):
            raise PatchError("'path' must be a JSON Pointer string", location=where)
        if op in ("add", "replace", "test") and "value" not in operation:
            raise PatchError(f"'{op}' needs a 'value'", location=where)
        if op in ("move", "copy") and not isinstance(operation.get("from"), str):
            raise PatchError(f"'{op}' needs a 'from' pointer", location=where)
    return operations


def apply_json_patch(base: Any, patch: str) -> Any:
    """The patched value; base is never modified. Errors name the failing operation."""
    operations = parse_json_patch(patch)
    document = copy.deepcopy(base)
    for index, operation in enumerate(operations):
        where = f"operation {index} ({operation['op']} {operation['path']})"
        try:
            document = jsonpatch.JsonPatch([operation]).apply(document, in_place=False)
        except jsonpatch.JsonPatchTestFailed as exc:
            raise PatchError(f"test failed: {exc}", location=where) from exc
        except (jsonpatch.JsonPatchConflict, jsonpatch.JsonPatchException) as exc:
            raise PatchError(str(exc), location=where) from exc
        except jsonpointer.JsonPointerException as exc:
            raise PatchError(f"bad pointer: {exc}", location=where) from exc
        except (TypeError, KeyError, IndexError, ValueError) as exc:
            raise PatchError(f"does not apply: {exc}", location=where) from exc
    return document


def make_json_patch(old: Any, new: Any) -> str:
    """A JSON Patch (canonical text) that turns old into new."""
    operations = jsonpatch.make_patch(old, new).patch
    return canonical_text(operations)
