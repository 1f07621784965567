"""The built-in test kinds: running one on a candidate and its base (params: see params.py).

Each kind returns an Outcome whose output tells the proposer what to fix. Inputs are bounded so
no kind runs long: candidates over MAX_CONTENT_CHARS fail, case lists are capped, and text_regex
runs in a separate, time-limited process (see command.py) because a pathological pattern can
backtrack for hours inside `re` where no signal can stop it. text_regex searches with
re.MULTILINE, so ^ and $ also match at line boundaries. Other kinds have no timer of their own:
their work is linear in the bounded inputs, and Celery's task time limit is the backstop.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from patches.patch_types import Evaluator, patch_type_spec
from patches.testgate import behaviour
from patches.testgate.command import command_run
from patches.testgate.params import testdef_validate

__all__ = ["Outcome", "Subject", "kind_run", "testdef_validate"]

MAX_CONTENT_CHARS = 1_000_000
MAX_LISTED_FAILURES = 20
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Subject:
    """What a test looks at: the candidate (base + patch) and the base, as stored text."""

    candidate: str
    base: str
    patch_type: str
    content_kind: str  # "text" or "json"


@dataclass
class Outcome:
    passed: bool
    output: str
    cases: list[dict[str, Any]] = field(default_factory=list)


def _quote(text: str, limit: int = 80) -> str:
    return json.dumps(text if len(text) <= limit else text[:limit] + "…", ensure_ascii=False)


def kind_run(*, kind: str, params: dict[str, Any], subject: Subject, timeout_s: float) -> Outcome:
    """Run one test; bad params or content give a failed Outcome, never an exception."""
    try:
        testdef_validate(kind, params)
    except ValueError as exc:
        return Outcome(False, f"this test is misconfigured (ask an admin to fix it): {exc}")
    if len(subject.candidate) > MAX_CONTENT_CHARS:
        return Outcome(
            False, f"the candidate is over {MAX_CONTENT_CHARS} characters; tests refuse it"
        )
    if kind == "command":
        return _run_command(params, subject, timeout_s)
    if kind == "text_regex":
        return _run_regex(params, subject, timeout_s)
    return _RUNNERS[kind](params, subject)


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _run_contains(params: dict[str, Any], s: Subject) -> Outcome:
    needle = params["text"]
    if needle in s.candidate:
        return Outcome(
            True,
            f"contains {_quote(needle)} (line {_line_of(s.candidate, s.candidate.index(needle))})",
        )
    note = " (the base does: this patch removes it)" if needle in s.base else ""
    return Outcome(False, f"the candidate must contain {_quote(needle)} and does not{note}")


def _run_not_contains(params: dict[str, Any], s: Subject) -> Outcome:
    needle = params["text"]
    if needle not in s.candidate:
        return Outcome(True, f"does not contain {_quote(needle)}")
    line = _line_of(s.candidate, s.candidate.index(needle))
    note = "" if needle in s.base else " (this patch adds it)"
    return Outcome(
        False, f"the candidate must not contain {_quote(needle)}: found at line {line}{note}"
    )


_REGEX_PROBE = """
import json, re, sys
job = json.load(open(sys.argv[1], encoding="utf-8"))
m = re.search(job["pattern"], job["text"], re.MULTILINE)
print(json.dumps(None if m is None else [m.start(), m.group(0)[:200]]))
"""


def _run_regex(params: dict[str, Any], s: Subject, timeout_s: float) -> Outcome:
    job = json.dumps({"pattern": params["pattern"], "text": s.candidate})
    probe = command_run(
        argv=[sys.executable, "-I", "-S", "-c", _REGEX_PROBE], candidate=job, timeout_s=timeout_s
    )
    pattern = _quote(params["pattern"])
    if probe.timed_out:
        return Outcome(
            False, f"pattern {pattern} did not finish within {timeout_s:g} s on the candidate"
        )
    if not probe.passed:
        return Outcome(False, f"pattern {pattern} could not run: {probe.output[-500:]}")
    found = json.loads(probe.output)
    if found is None:
        return Outcome(False, f"the candidate must match {pattern} and does not")
    return Outcome(
        True, f"matches {pattern} at line {_line_of(s.candidate, found[0])}: {_quote(found[1])}"
    )


def _run_max_length(params: dict[str, Any], s: Subject) -> Outcome:
    limit, size = params["chars"], len(s.candidate)
    if size <= limit:
        return Outcome(True, f"{size} characters, within {limit}")
    return Outcome(
        False,
        f"the candidate is {size} characters, {size - limit} over the limit of {limit} "
        f"(the base is {len(s.base)})",
    )


def _run_placeholders(params: dict[str, Any], s: Subject) -> Outcome:
    base = sorted(set(PLACEHOLDER_RE.findall(s.base)))
    kept = set(PLACEHOLDER_RE.findall(s.candidate))
    missing = [name for name in base if name not in kept]
    if missing:
        names = ", ".join("{" + n + "}" for n in missing)
        return Outcome(False, f"the patch drops placeholders the base uses: {names}; put them back")
    return Outcome(True, f"all {len(base)} placeholders of the base are kept")


def _json_value(s: Subject, text: str) -> Any:
    if s.content_kind != "json":
        raise ValueError(f"this test needs JSON content; {s.patch_type} targets hold text")
    return json.loads(text)


def _run_json_schema(params: dict[str, Any], s: Subject) -> Outcome:
    try:
        value = _json_value(s, s.candidate)
    except ValueError as exc:
        return Outcome(False, str(exc))
    validator = jsonschema.Draft202012Validator(params["schema"])
    errors = sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return Outcome(True, "the candidate validates against the schema")
    lines = [
        f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:MAX_LISTED_FAILURES]
    ]
    return Outcome(
        False, f"the candidate breaks the schema in {len(errors)} place(s):\n" + "\n".join(lines)
    )


def _evaluate(fn: Evaluator, content: Any, arg: Any) -> str:
    try:
        return fn(content, arg)
    except behaviour.BehaviourError as exc:
        return f"error: {exc}"


def _run_cases(
    params: dict[str, Any], s: Subject, *, evaluated_as: str, key: str, label: str
) -> Outcome:
    """Each case's outcome under the evaluator of patch type evaluated_as, before and after."""
    fn = patch_type_spec(evaluated_as).evaluator
    assert fn is not None, f"{evaluated_as} has no evaluator"
    try:
        after_value = _json_value(s, s.candidate)
        before_value = _json_value(s, s.base)
    except ValueError as exc:
        return Outcome(False, str(exc))
    cases, failures, changed = [], [], 0
    for index, case in enumerate(params["cases"]):
        before = _evaluate(fn, before_value, case[key])
        after = _evaluate(fn, after_value, case[key])
        ok = after == case["expect"]
        changed += before != after
        cases.append(
            {key: case[key], "expect": case["expect"], "before": before, "after": after, "ok": ok}
        )
        if not ok:
            shown = (
                _quote(case[key]) if key == "input" else json.dumps(case[key], sort_keys=True)[:120]
            )
            failures.append(
                f"case {index + 1} {shown}: expected {case['expect']}, got {after} (before: {before})"
            )
    total = len(cases)
    summary = (
        f"{changed} of {total} {label} cases change {'route' if key == 'input' else 'decision'}"
    )
    if failures:
        listed = "\n".join(failures[:MAX_LISTED_FAILURES])
        more = (
            f"\n… and {len(failures) - MAX_LISTED_FAILURES} more"
            if len(failures) > MAX_LISTED_FAILURES
            else ""
        )
        return Outcome(
            False, f"{len(failures)} of {total} cases fail; {summary}\n{listed}{more}", cases
        )
    return Outcome(True, f"all {total} cases pass; {summary}", cases)


def _tool_problems(value: Any) -> tuple[list[str], list[str]]:
    """(problems with the tool specs, tool names) of Tools content."""
    tools = value.get("tools") if isinstance(value, dict) else None
    if not isinstance(tools, list):
        return ["/tools must be a list of tool specs"], []
    problems, names = [], []
    for index, tool in enumerate(tools):
        where = f"/tools/{index}"
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str) or not tool["name"]:
            problems.append(f"{where}: needs a non-empty string name")
            continue
        if tool["name"] in names:
            problems.append(f"{where}: tool name {tool['name']!r} is used twice")
        names.append(tool["name"])
        try:
            jsonschema.Draft202012Validator.check_schema(tool.get("parameters", {}))
        except jsonschema.SchemaError as exc:
            problems.append(f"{where}/parameters is not a valid JSON Schema: {exc.message}")
    return problems, names


def _run_tool_set(params: dict[str, Any], s: Subject) -> Outcome:
    try:
        problems, names = _tool_problems(_json_value(s, s.candidate))
        _, base_names = _tool_problems(_json_value(s, s.base))
    except ValueError as exc:
        return Outcome(False, str(exc))
    if "allow" in params:
        problems += [
            f"tool {n!r} is not allowed (allowed: {', '.join(params['allow']) or 'none'})"
            for n in names
            if n not in params["allow"]
        ]
    problems += [
        f"required tool {n!r} is missing" for n in params.get("require", []) if n not in names
    ]
    added = sorted(set(names) - set(base_names))
    removed = sorted(set(base_names) - set(names))
    change = f"tools added: {', '.join(added) or 'none'}; removed: {', '.join(removed) or 'none'}"
    if problems:
        return Outcome(False, "\n".join([*problems[:MAX_LISTED_FAILURES], change]))
    return Outcome(True, f"{len(names)} tools, well-formed; {change}")


def _run_command(params: dict[str, Any], s: Subject, timeout_s: float) -> Outcome:
    limit = min(float(params.get("timeout_s", timeout_s)), float(timeout_s))
    result = command_run(argv=params["argv"], candidate=s.candidate, timeout_s=limit)
    if result.timed_out:
        return Outcome(False, f"timed out after {limit:g} s\n{result.output}")
    return Outcome(result.passed, f"exit status {result.exit_code}\n{result.output}")


_RUNNERS: dict[str, Callable[[dict[str, Any], Subject], Outcome]] = {
    "text_contains": _run_contains,
    "text_not_contains": _run_not_contains,
    "max_length": _run_max_length,
    "placeholders": _run_placeholders,
    "json_schema": _run_json_schema,
    "routing_cases": lambda p, s: _run_cases(
        p, s, evaluated_as="Routing", key="input", label="routing"
    ),
    "policy_cases": lambda p, s: _run_cases(
        p, s, evaluated_as="Policy", key="context", label="policy"
    ),
    "tool_set": _run_tool_set,
}
