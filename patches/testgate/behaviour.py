"""Evaluating Routing and Policy content as data: route an input text, decide a context.

Neither evaluator ever executes anything from the content; malformed content raises
BehaviourError with the path of the problem, and a condition never raises on odd data.

Routing (DESIGN.md "Behaviour data shapes"):
- words are `re.findall(r"[a-z0-9_']+", text.lower())`: runs of ASCII letters, digits,
  underscore and apostrophe, so "Refund!" gives "refund" and "don't" stays one word;
- keywords are compared lower-cased, and a keyword counts once when present, however often
  it repeats ("refund refund refund" scores like "refund"), so repetition cannot game a route;
- a route scores weight * (sum of the weights of its keywords present); the best score at or
  above the threshold wins, ties go to the route name that sorts first, else the default.

Policy: ordered rules, first match wins, else the default. A condition is one of
`{"all": [...]}`, `{"any": [...]}`, `{"not": cond}` or `{"field": "a.b", <op>: value}` with op
in eq, ne, gt, ge, lt, le, in, contains. Field paths are dotted; a digit step indexes a list.
- a missing field makes every comparison false (also `ne`; write `{"not": {"field": …, "eq": …}}`
  to match "absent or different");
- eq/ne compare JSON values strictly: 1 ≠ "1" and true ≠ 1;
- gt/ge/lt/le compare two numbers or two strings; any other pair is false, never an error;
- `in`: the field's value is an element of the given list; `contains`: the field's value (a
  string or list) contains the given value (substring for strings, element for lists).
"""

from __future__ import annotations

import math
import re
from typing import Any

WORD_RE = re.compile(r"[a-z0-9_']+")
COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le", "in", "contains")
MAX_CONDITION_DEPTH = 32
_MISSING = object()


class BehaviourError(ValueError):
    """Routing or policy content that cannot be evaluated; the message names the path."""


def words_of(text: str) -> set[str]:
    return set(WORD_RE.findall(text.lower()))


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BehaviourError(f"{where} must be a number, got {value!r}")
    return float(value)


def route_scores(routing: Any, text: str) -> dict[str, float]:
    if not isinstance(routing, dict) or not isinstance(routing.get("routes"), dict):
        raise BehaviourError("/routes must be an object of route name → {weight, keywords}")
    present = words_of(text)
    scores: dict[str, float] = {}
    for name, route in routing["routes"].items():
        if not isinstance(route, dict) or not isinstance(route.get("keywords", {}), dict):
            raise BehaviourError(f"/routes/{name} must be an object with a keywords object")
        weight = _number(route.get("weight", 1.0), f"/routes/{name}/weight")
        total = 0.0
        for keyword, keyword_weight in route.get("keywords", {}).items():
            value = _number(keyword_weight, f"/routes/{name}/keywords/{keyword}")
            if keyword.lower() in present:
                total += value
        scores[name] = weight * total
    return scores


def route(routing: Any, text: str) -> str:
    """The route an input text takes under routing content."""
    scores = route_scores(routing, text)
    default = routing.get("default")
    if not isinstance(default, str):
        raise BehaviourError("/default must be a route name (a string)")
    threshold = _number(routing.get("threshold", 0.0), "/threshold")
    eligible = [(-score, name) for name, score in scores.items() if score >= threshold]
    return min(eligible)[1] if eligible else default


def _field(context: Any, path: str) -> Any:
    value = context
    for step in path.split("."):
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return _MISSING
    return value


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _json_equal(left: Any, right: Any) -> bool:
    if _kind(left) != _kind(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_json_equal(left[k], right[k]) for k in left)
    return bool(left == right)


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if actual is _MISSING:
        return False
    if op == "eq":
        return _json_equal(actual, expected)
    if op == "ne":
        return not _json_equal(actual, expected)
    if op == "in":
        return isinstance(expected, list) and any(_json_equal(actual, e) for e in expected)
    if op == "contains":
        if isinstance(actual, str):
            return isinstance(expected, str) and expected in actual
        return isinstance(actual, list) and any(_json_equal(a, expected) for a in actual)
    if _kind(actual) != _kind(expected) or _kind(actual) not in ("number", "str"):
        return False
    if op == "gt":
        return bool(actual > expected)
    if op == "ge":
        return bool(actual >= expected)
    if op == "lt":
        return bool(actual < expected)
    return bool(actual <= expected)


def condition_matches(condition: Any, context: Any, where: str = "when", depth: int = 0) -> bool:
    if depth > MAX_CONDITION_DEPTH:
        raise BehaviourError(f"{where}: conditions nest deeper than {MAX_CONDITION_DEPTH}")
    if not isinstance(condition, dict):
        raise BehaviourError(f"{where} must be an object, got {condition!r}")
    if "all" in condition or "any" in condition:
        key = "all" if "all" in condition else "any"
        parts = condition[key]
        if not isinstance(parts, list):
            raise BehaviourError(f"{where}/{key} must be a list of conditions")
        results = (
            condition_matches(part, context, f"{where}/{key}/{i}", depth + 1)
            for i, part in enumerate(parts)
        )
        return all(results) if key == "all" else any(results)
    if "not" in condition:
        return not condition_matches(condition["not"], context, f"{where}/not", depth + 1)
    ops = [op for op in COMPARISONS if op in condition]
    if not isinstance(condition.get("field"), str) or len(ops) != 1:
        raise BehaviourError(
            f'{where} must be all/any/not or {{"field": path, <one of {", ".join(COMPARISONS)}>: value}}'
        )
    return _compare(ops[0], _field(context, condition["field"]), condition[ops[0]])


def decide(policy: Any, context: Any) -> str:
    """The decision of the first rule whose condition matches the context, else the default."""
    if not isinstance(policy, dict) or not isinstance(policy.get("rules", []), list):
        raise BehaviourError("/rules must be a list of {name, when, decision}")
    for index, rule in enumerate(policy.get("rules", [])):
        where = f"/rules/{index}"
        if not isinstance(rule, dict) or not isinstance(rule.get("decision"), str):
            raise BehaviourError(f"{where} must be an object with a decision string")
        if condition_matches(rule.get("when", {"all": []}), context, f"{where}/when"):
            return str(rule["decision"])
    default = policy.get("default")
    if not isinstance(default, str):
        raise BehaviourError("/default must be a decision (a string)")
    return default
