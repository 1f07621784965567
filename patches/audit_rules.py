"""A target's audit rules: their documented JSON shape, defaults, and validation.

Target.audit_rules is a JSON object; every key is optional:

    {
      "protected_paths": [{"pattern": "/routes/*/weight", "effect": "raise"}],
      "protected_text": [{"text": "Never reveal", "effect": "block"}],
      "max_changed_lines": 100,      # text targets: the hunks' "+" and "-" lines; null = no limit
      "max_ops": 25,                 # JSON targets: JSON Patch operations; null = no limit
      "budget_effect": "raise",      # what going over a size budget does
      "min_reasoning_chars": 20      # shorter reasoning raises; empty reasoning blocks
    }

`pattern` is a JSON Pointer (RFC 6901) in which a `*` segment matches any one key or index; the
patch touches it when any value at a matching pointer differs between base and result (added,
removed or changed), compared as canonical JSON bytes (RFC 8785), so `1` → `true` or `0` →
`false` is a change although Python's `==` holds them equal. `text` is protected when any line
(text targets) or string value (JSON targets) containing it differs between base and result;
a line is what the unified diff calls one (split on "\n" alone, its ending included:
`patches.formats.unified_diff.split_lines`), so U+2028, VT, NEL or a lone CR do not end it.
`max_changed_lines` counts the patch's own "-" and "+" lines, hunk by hunk. `effect` is "block"
(the patch is rejected at the audit gate) or "raise" (one more approval is needed); it defaults
to "block".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EFFECTS = ("block", "raise")
DEFAULT_MAX_CHANGED_LINES = 100
DEFAULT_MAX_OPS = 25
DEFAULT_MIN_REASONING_CHARS = 20
_KEYS = (
    "protected_paths",
    "protected_text",
    "max_changed_lines",
    "max_ops",
    "budget_effect",
    "min_reasoning_chars",
)


class AuditRulesError(ValueError):
    """Audit rules that do not have the documented shape; the message names the bad field."""


@dataclass(frozen=True)
class ProtectedPath:
    pattern: str
    segments: tuple[str, ...]
    effect: str


@dataclass(frozen=True)
class ProtectedText:
    text: str
    effect: str


@dataclass(frozen=True)
class AuditRules:
    protected_paths: tuple[ProtectedPath, ...] = ()
    protected_text: tuple[ProtectedText, ...] = ()
    max_changed_lines: int | None = DEFAULT_MAX_CHANGED_LINES
    max_ops: int | None = DEFAULT_MAX_OPS
    budget_effect: str = "raise"
    min_reasoning_chars: int = DEFAULT_MIN_REASONING_CHARS


def pointer_segments(pointer: str) -> tuple[str, ...]:
    """The unescaped reference tokens of a JSON Pointer ("" is the whole document)."""
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise AuditRulesError(f"JSON Pointer {pointer!r} must be empty or start with '/'")
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/"))


def _effect(item: dict[str, Any], where: str) -> str:
    effect = item.get("effect", "block")
    if effect not in EFFECTS:
        raise AuditRulesError(f'{where}.effect must be "block" or "raise", got {effect!r}')
    return str(effect)


def _entries(rules: dict[str, Any], key: str, field: str) -> list[tuple[str, str]]:
    entries = rules.get(key, [])
    if not isinstance(entries, list):
        raise AuditRulesError(f"audit_rules.{key} must be a list of objects")
    parsed = []
    for index, item in enumerate(entries):
        where = f"audit_rules.{key}[{index}]"
        if not isinstance(item, dict):
            raise AuditRulesError(
                f'{where} must be an object like {{"{field}": …, "effect": "block"}}'
            )
        unknown = sorted(set(item) - {field, "effect"})
        if unknown:
            raise AuditRulesError(f"{where} has unknown keys {', '.join(unknown)}")
        value = item.get(field)
        if not isinstance(value, str) or (field == "text" and not value):
            raise AuditRulesError(f"{where}.{field} must be a non-empty string")
        parsed.append((value, _effect(item, where)))
    return parsed


def _limit(rules: dict[str, Any], key: str, default: int | None, *, nullable: bool) -> int | None:
    if key not in rules:
        return default
    value = rules[key]
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        allowed = "a whole number ≥ 0" + (" or null (no limit)" if nullable else "")
        raise AuditRulesError(f"audit_rules.{key} must be {allowed}, got {value!r}")
    return value


def audit_rules_validate(rules: Any) -> AuditRules:
    """Parse a target's audit rules, filling defaults; raise AuditRulesError on a bad shape."""
    if rules is None:
        rules = {}
    if not isinstance(rules, dict):
        raise AuditRulesError("audit_rules must be a JSON object")
    unknown = sorted(set(rules) - set(_KEYS))
    if unknown:
        raise AuditRulesError(
            f"audit_rules has unknown keys {', '.join(unknown)}; allowed: {', '.join(_KEYS)}"
        )
    paths = tuple(
        ProtectedPath(pattern=pattern, segments=pointer_segments(pattern), effect=effect)
        for pattern, effect in _entries(rules, "protected_paths", "pattern")
    )
    texts = tuple(
        ProtectedText(text=text, effect=effect)
        for text, effect in _entries(rules, "protected_text", "text")
    )
    budget_effect = rules.get("budget_effect", "raise")
    if budget_effect not in EFFECTS:
        raise AuditRulesError(
            f'audit_rules.budget_effect must be "block" or "raise", got {budget_effect!r}'
        )
    return AuditRules(
        protected_paths=paths,
        protected_text=texts,
        max_changed_lines=_limit(
            rules, "max_changed_lines", DEFAULT_MAX_CHANGED_LINES, nullable=True
        ),
        max_ops=_limit(rules, "max_ops", DEFAULT_MAX_OPS, nullable=True),
        budget_effect=str(budget_effect),
        min_reasoning_chars=_limit(
            rules, "min_reasoning_chars", DEFAULT_MIN_REASONING_CHARS, nullable=False
        )
        or 0,
    )
