"""The params each test kind takes, and their validation (test_create, admin forms, the runner)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jsonschema

MAX_CASES = 1000
MAX_CASE_INPUT_CHARS = 10_000
MAX_PATTERN_CHARS = 1000
MAX_COMMAND_TIMEOUT_S = 600

KIND_PARAMS: dict[str, dict[str, tuple[type, ...]]] = {
    # kind: {param: accepted JSON types}; a param marked optional is listed in OPTIONAL_PARAMS.
    "text_contains": {"text": (str,)},
    "text_not_contains": {"text": (str,)},
    "text_regex": {"pattern": (str,)},
    "max_length": {"chars": (int,)},
    "placeholders": {},
    "json_schema": {"schema": (dict, bool)},
    "routing_cases": {"cases": (list,)},
    "policy_cases": {"cases": (list,)},
    "tool_set": {"allow": (list,), "require": (list,)},
    "command": {"argv": (list,), "timeout_s": (int, float)},
}
OPTIONAL_PARAMS = {("tool_set", "allow"), ("tool_set", "require"), ("command", "timeout_s")}


def testdef_validate(kind: str, params: Any) -> None:
    """Raise ValueError saying what to fix when params do not suit kind (test_create, admin)."""
    if kind not in KIND_PARAMS:
        raise ValueError(f"unknown test kind {kind!r}: use one of {', '.join(KIND_PARAMS)}")
    if not isinstance(params, dict):
        raise ValueError(f"{kind} params must be a JSON object, got {type(params).__name__}")
    expected = KIND_PARAMS[kind]
    unknown = sorted(set(params) - set(expected))
    if unknown:
        allowed = ", ".join(expected) or "none"
        raise ValueError(f"{kind} does not take {', '.join(unknown)} (params: {allowed})")
    for name, types in expected.items():
        if name not in params:
            if (kind, name) not in OPTIONAL_PARAMS:
                raise ValueError(f"{kind} needs param {name!r}")
            continue
        value = params[name]
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            wanted = " or ".join(t.__name__ for t in types)
            raise ValueError(f"{kind} param {name!r} must be {wanted}, got {value!r}")
    _VALIDATORS.get(kind, lambda p: None)(params)


def _validate_text(params: dict[str, Any]) -> None:
    if not params["text"]:
        raise ValueError("param 'text' must not be empty")


def _validate_regex(params: dict[str, Any]) -> None:
    pattern = params["pattern"]
    if not pattern or len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(f"param 'pattern' must be 1 to {MAX_PATTERN_CHARS} characters")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"param 'pattern' is not a valid regular expression: {exc}") from exc


def _validate_max_length(params: dict[str, Any]) -> None:
    if params["chars"] < 1:
        raise ValueError("param 'chars' must be a positive integer")


def _validate_schema(params: dict[str, Any]) -> None:
    try:
        jsonschema.Draft202012Validator.check_schema(params["schema"])
    except jsonschema.SchemaError as exc:
        raise ValueError(f"param 'schema' is not a valid JSON Schema: {exc.message}") from exc


def _validate_cases(params: dict[str, Any], key: str) -> None:
    cases = params["cases"]
    if not cases or len(cases) > MAX_CASES:
        raise ValueError(f"param 'cases' must hold 1 to {MAX_CASES} cases")
    for index, case in enumerate(cases):
        where = f"cases[{index}]"
        if not isinstance(case, dict) or set(case) != {key, "expect"}:
            raise ValueError(f"{where} must be an object with exactly {key!r} and 'expect'")
        if not isinstance(case["expect"], str) or not case["expect"]:
            raise ValueError(f"{where}.expect must be a non-empty string")
        if key == "input" and not isinstance(case["input"], str):
            raise ValueError(f"{where}.input must be a string")
        if key == "input" and len(case["input"]) > MAX_CASE_INPUT_CHARS:
            raise ValueError(f"{where}.input is over {MAX_CASE_INPUT_CHARS} characters")
        if key == "context" and not isinstance(case["context"], dict):
            raise ValueError(f"{where}.context must be an object")


def _validate_names(params: dict[str, Any]) -> None:
    for key in ("allow", "require"):
        names = params.get(key, [])
        if not all(isinstance(n, str) and n for n in names):
            raise ValueError(f"param {key!r} must be a list of tool names (non-empty strings)")
    missing = sorted(
        set(params.get("require", [])) - set(params.get("allow", params.get("require", [])))
    )
    if missing:
        raise ValueError(f"required tools {', '.join(missing)} are not in 'allow'")


def _validate_command(params: dict[str, Any]) -> None:
    argv = params["argv"]
    if not argv or not all(isinstance(a, str) for a in argv) or not argv[0]:
        raise ValueError("param 'argv' must be a non-empty list of strings (no shell is used)")
    timeout = params.get("timeout_s", 30)
    if not 0 < timeout <= MAX_COMMAND_TIMEOUT_S:
        raise ValueError(f"param 'timeout_s' must be over 0 and at most {MAX_COMMAND_TIMEOUT_S}")


_VALIDATORS: dict[str, Callable[[dict[str, Any]], None]] = {
    "text_contains": _validate_text,
    "text_not_contains": _validate_text,
    "text_regex": _validate_regex,
    "max_length": _validate_max_length,
    "json_schema": _validate_schema,
    "routing_cases": lambda p: _validate_cases(p, "input"),
    "policy_cases": lambda p: _validate_cases(p, "context"),
    "tool_set": _validate_names,
    "command": _validate_command,
}
