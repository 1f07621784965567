"""JSON Patch operations in words, each with the value it replaces, for reviewers."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch
import jsonpointer

from console.diffs.model import OperationLine

MAX_VALUE_CHARS = 120
MAX_OPERATION_LINES = 500


def describe_json_patch(base_value: Any, patch_text: str) -> list[OperationLine]:
    """One line per operation: `/routes/billing/weight: 0.3 → 0.45`, `add /routes/x: {...}`,
    `remove /tools/2`. Operations are applied in turn, so later lines see earlier changes;
    from the first operation that does not apply on, lines are marked not ok."""
    try:
        operations = json.loads(patch_text)
    except (ValueError, RecursionError) as exc:
        return [OperationLine(op="", path="", text=f"the patch is not JSON: {exc}", ok=False)]
    if not isinstance(operations, list):
        return [
            OperationLine(op="", path="", text="a JSON Patch is an array of operations", ok=False)
        ]
    document = copy.deepcopy(base_value)
    applying = True
    lines: list[OperationLine] = []
    for index, operation in enumerate(operations[:MAX_OPERATION_LINES]):
        if not isinstance(operation, dict):
            lines.append(
                OperationLine(op="", path="", text=f"operation {index} is not an object", ok=False)
            )
            applying = False
            continue
        op = str(operation.get("op", ""))
        path = str(operation.get("path", ""))
        text = _words(op, path, operation, document if applying else None)
        if applying:
            try:
                document = jsonpatch.JsonPatch([operation]).apply(document, in_place=False)
            except (
                jsonpatch.JsonPatchException,
                jsonpointer.JsonPointerException,
                TypeError,
                KeyError,
                IndexError,
                ValueError,
            ) as exc:
                applying = False
                text = f"{text} (does not apply: {exc})"
        lines.append(OperationLine(op=op, path=path, text=text, ok=applying))
    if len(operations) > MAX_OPERATION_LINES:
        more = len(operations) - MAX_OPERATION_LINES
        lines.append(
            OperationLine(op="", path="", text=f"… and {more} more operations", ok=applying)
        )
    return lines


def _words(op: str, path: str, operation: dict[str, Any], document: Any) -> str:
    value = _short(operation.get("value"))
    if op == "replace":
        before = _lookup(document, path)
        return f"{path}: {before} → {value}" if before is not None else f"{path}: → {value}"
    if op == "add":
        return f"add {path}: {value}"
    if op == "remove":
        before = _lookup(document, path)
        return f"remove {path}" + (f" (was {before})" if before is not None else "")
    source = str(operation.get("from", ""))
    if op in ("move", "copy"):
        return f"{op} {source} → {path}"
    if op == "test":
        return f"test {path} == {value}"
    return f"unknown operation {op!r} at {path}"


def _lookup(document: Any, path: str) -> str | None:
    if document is None:
        return None
    try:
        return _short(jsonpointer.resolve_pointer(document, path))
    except (jsonpointer.JsonPointerException, TypeError, KeyError, IndexError, ValueError):
        return None


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"
