"""The automated audit checks, pure: from a proposal's patch, its base and the rules to findings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from patches.audit_rules import AuditRules, ProtectedPath, ProtectedText
from patches.canonical import canonical
from patches.formats import PatchError, apply_patch
from patches.formats.json_patch import parse_json_patch
from patches.formats.unified_diff import changed_line_count, split_lines
from patches.patch_types import patch_type_spec
from patches.shapes import ContentError

INFO, RAISE, BLOCK = "info", "raise", "block"
_MISSING = b""  # "no value at this pointer": no JSON value has empty canonical bytes


@dataclass(frozen=True)
class FindingResult:
    check_name: str
    severity: str
    message: str


@dataclass(frozen=True)
class CheckInput:
    """What the checks look at; gathered from the database by audit.gate."""

    rules: AuditRules
    content_kind: str  # "text" or "json"
    patch_type: str
    schema: Any
    patch: str
    reasoning: str
    base_version: int
    base_content_hash: str
    base_content: str  # the content of version base_version
    current_version: int
    current_content_hash: str


def findings_compute(check: CheckInput) -> list[FindingResult]:
    """Every finding for one proposal, in a stable order: compatibility, reasoning, then content."""
    findings: list[FindingResult] = []
    result = _check_compatibility(check, findings)
    _check_reasoning(check, findings)
    if result is not None:
        _check_budget(check, result, findings)
        for rule in check.rules.protected_paths:
            _check_path(check, rule, result, findings)
        for text_rule in check.rules.protected_text:
            _check_text(check, text_rule, result, findings)
    return findings


def _check_compatibility(check: CheckInput, findings: list[FindingResult]) -> str | None:
    """The patched content, or None (with a block finding) when the patch cannot apply."""
    if check.current_version != check.base_version:
        findings.append(
            FindingResult(
                "compatibility",
                BLOCK,
                f"The base is stale: the patch was written against version {check.base_version}, "
                f"but the target is now at version {check.current_version}.",
            )
        )
        return None
    if check.current_content_hash != check.base_content_hash:
        findings.append(
            FindingResult(
                "compatibility",
                BLOCK,
                f"The base content changed: the patch expects {check.base_content_hash}, "
                f"the current version has {check.current_content_hash}.",
            )
        )
        return None
    try:
        # The type's shape is checked here; the target's own schema separately below, so the
        # reviewer learns which of the two failed.
        applied = apply_patch(
            patch_type=check.patch_type,
            base=check.base_content,
            patch=check.patch,
        )
    except (PatchError, ValueError) as exc:
        findings.append(
            FindingResult(
                "compatibility",
                BLOCK,
                f"The patch does not apply to version {check.base_version}: {exc}",
            )
        )
        return None
    if check.content_kind == "json" and check.schema:
        try:
            patch_type_spec(check.patch_type).content_check(
                json.loads(applied.content), schema=check.schema
            )
        except ContentError as exc:
            findings.append(
                FindingResult(
                    "compatibility", BLOCK, f"The patched content breaks the target's schema: {exc}"
                )
            )
            return None
    return applied.content


def _check_reasoning(check: CheckInput, findings: list[FindingResult]) -> None:
    length = len(check.reasoning.strip())
    minimum = check.rules.min_reasoning_chars
    if length == 0:
        findings.append(
            FindingResult("reasoning", BLOCK, "The proposal gives no reasoning for the change.")
        )
    elif length < minimum:
        findings.append(
            FindingResult(
                "reasoning",
                RAISE,
                f"The reasoning is only {length} characters (the target asks for at least "
                f"{minimum}); one more approval is needed.",
            )
        )


def _check_budget(check: CheckInput, result: str, findings: list[FindingResult]) -> None:
    effect = check.rules.budget_effect
    consequence = "rejected" if effect == BLOCK else "one more approval is needed"
    if check.content_kind == "text":
        # The patch applied, so it parses; its hunks' own "-" and "+" lines are the count
        # (matching base and result line by line again is quadratic on repeated lines).
        size, limit, unit = (
            changed_line_count(check.patch),
            check.rules.max_changed_lines,
            "changed line",
        )
    else:
        size, limit, unit = len(parse_json_patch(check.patch)), check.rules.max_ops, "operation"
    unit += "" if size == 1 else "s"
    if limit is not None and size > limit:
        findings.append(
            FindingResult(
                "size_budget",
                effect,
                f"The patch has {size} {unit}, over the target's budget of {limit}; {consequence}.",
            )
        )
    else:
        budget = f" (budget {limit})" if limit is not None else ""
        findings.append(FindingResult("size_budget", INFO, f"The patch has {size} {unit}{budget}."))


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def pointer_values(document: Any, segments: tuple[str, ...]) -> dict[str, Any]:
    """Every concrete pointer matching the pattern segments (`*` = any one key or index)."""
    found: dict[str, Any] = {}
    # (value, index of the next pattern segment, concrete pointer so far); depth is bounded by
    # the pattern's length, so this walk cannot run away on deep content.
    stack: list[tuple[Any, int, str]] = [(document, 0, "")]
    while stack:
        value, index, pointer = stack.pop()
        if index == len(segments):
            found[pointer] = value
            continue
        for key, child in _children(value, segments[index]):
            stack.append((child, index + 1, f"{pointer}/{_escape(key)}"))
    return found


def _canonical_values(document: Any, segments: tuple[str, ...]) -> dict[str, bytes]:
    return {p: canonical(value) for p, value in pointer_values(document, segments).items()}


def _children(value: Any, segment: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        if segment == "*":
            yield from ((str(k), v) for k, v in value.items())
        elif segment in value:
            yield segment, value[segment]
    elif isinstance(value, list):
        if segment == "*":
            yield from ((str(i), v) for i, v in enumerate(value))
        elif segment.isdigit() and int(segment) < len(value):
            yield segment, value[int(segment)]


def _consequence(effect: str) -> str:
    return "this target does not allow it" if effect == BLOCK else "one more approval is needed"


def _check_path(
    check: CheckInput, rule: ProtectedPath, result: str, findings: list[FindingResult]
) -> None:
    if check.content_kind != "json":
        return  # pointers address JSON content only; text targets use protected_text
    # Canonical bytes, not Python's ==, which holds 1 == True == 1.0 and 0 == False.
    before = _canonical_values(json.loads(check.base_content), rule.segments)
    after = _canonical_values(json.loads(result), rule.segments)
    touched = sorted(
        p for p in before.keys() | after.keys() if before.get(p, _MISSING) != after.get(p, _MISSING)
    )
    if touched:
        shown = ", ".join(touched[:5]) + (
            f" and {len(touched) - 5} more" if len(touched) > 5 else ""
        )
        findings.append(
            FindingResult(
                "protected_path",
                rule.effect,
                f"The patch changes protected path {rule.pattern} (at {shown}); "
                f"{_consequence(rule.effect)}.",
            )
        )


def _text_occurrences(content_kind: str, content: str, text: str) -> list[tuple[str, str]]:
    """(where, the whole line or string value) for each place the protected text occurs."""
    if content_kind == "text":
        # Lines as the diff and apply see them: split on "\n" alone, never str.splitlines, so
        # an edit behind U+2028, VT, NEL or CR on the protected line is an edit of that line.
        return [("line", line) for line in split_lines(content) if text in line]
    strings = pointer_strings(json.loads(content))
    return [(pointer, value) for pointer, value in strings if text in value]


def pointer_strings(document: Any) -> list[tuple[str, str]]:
    """(pointer, value) of every string in a JSON document, keys included, in document order."""
    strings: list[tuple[str, str]] = []
    stack: list[tuple[Any, str]] = [(document, "")]
    while stack:
        value, pointer = stack.pop()
        if isinstance(value, str):
            strings.append((pointer, value))
        elif isinstance(value, dict):
            for key, child in reversed(list(value.items())):
                strings.append((pointer, key))
                stack.append((child, f"{pointer}/{_escape(key)}"))
        elif isinstance(value, list):
            stack.extend((child, f"{pointer}/{i}") for i, child in reversed(list(enumerate(value))))
    return sorted(strings)


def _check_text(
    check: CheckInput, rule: ProtectedText, result: str, findings: list[FindingResult]
) -> None:
    before = _text_occurrences(check.content_kind, check.base_content, rule.text)
    after = _text_occurrences(check.content_kind, result, rule.text)
    # Comparing whole lines (or whole strings) catches edits next to the text, not just to it.
    if before != after:
        findings.append(
            FindingResult(
                "protected_text",
                rule.effect,
                f"The patch changes protected text {rule.text!r} (or the line holding it); "
                f"{_consequence(rule.effect)}.",
            )
        )
