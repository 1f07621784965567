"""One-line summaries of a test result's behavioural impact, for reviewers."""

from __future__ import annotations

from typing import Any, Protocol


class _HasCases(Protocol):
    name: str
    status: str
    output: str
    cases: Any


def impact_summary(result: _HasCases) -> str:
    """ "3 of 120 routing cases change route; 1 fails" for case-based results, else the first
    line of the output."""
    cases = result.cases or []
    if not cases:
        return (result.output or "").split("\n", 1)[0]
    routing = "input" in cases[0]
    label, noun = ("routing", "route") if routing else ("policy", "decision")
    changed = sum(1 for case in cases if case.get("before") != case.get("after"))
    failing = sum(1 for case in cases if not case.get("ok"))
    verb = "changes" if changed == 1 else "change"
    summary = f"{changed} of {len(cases)} {label} cases {verb} {noun}"
    if failing:
        summary += f"; {failing} {'fails' if failing == 1 else 'fail'}"
    return summary
