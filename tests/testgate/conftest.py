"""Test-gate test setup: targets of each type, tests as data, proposals through the submit service."""

from __future__ import annotations

import json
from typing import Any

from audit.gates import proposal_submit_and_gate
from patches.canonical import canonical
from patches.models import Event, Proposal, Target, TestDefinition
from patches.testgate.runner import gate_run
from tests.factories import (
    PROMPT,
    ROUTING,
    AgentPersona,
    make_target,
    make_test,
    proposal_body,
    signed_envelope,
)

POLICY = {
    "default": "allow",
    "rules": [
        {
            "name": "big-refunds",
            "when": {"all": [{"field": "action", "eq": "refund"}, {"field": "amount", "gt": 500}]},
            "decision": "escalate",
        }
    ],
}
TOOLS = {
    "tools": [
        {
            "name": "search_orders",
            "description": "Find orders",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            "permissions": ["orders:read"],
        }
    ]
}


def prompt_diff(old_line: str, new_line: str) -> str:
    """A unified diff replacing one line of tests.factories.PROMPT."""
    lines = PROMPT.splitlines()
    index = lines.index(old_line)
    before = lines[:index]
    after = lines[index + 1 :]
    body = [f" {line}" for line in before] + [f"-{old_line}", f"+{new_line}"]
    body += [f" {line}" for line in after]
    header = f"@@ -1,{len(lines)} +1,{len(lines)} @@"
    return "--- a/prompt\n+++ b/prompt\n" + header + "\n" + "\n".join(body) + "\n"


def json_patch(*operations: dict[str, Any]) -> str:
    return json.dumps(list(operations))


def target_of(patch_type: str, tests: list[TestDefinition] | None = None) -> Target:
    content: Any = {"Prompt": PROMPT, "Routing": ROUTING, "Policy": POLICY, "Tools": TOOLS}.get(
        patch_type, {"retries": 3}
    )
    target = make_target(
        name=f"{patch_type.lower()}-target", patch_type=patch_type, content=content
    )
    if tests:
        target.mandatory_tests.set(tests)
    return target


def submit(
    persona: AgentPersona, target: Target, patch: str, requested: list[str] | None = None
) -> Proposal:
    target.refresh_from_db()
    fields = proposal_body(target=target, patch=patch, test_requirements=requested or [])
    return proposal_submit_and_gate(
        agent=persona.agent, body=canonical(signed_envelope(persona, fields))
    )


def gate(
    persona: AgentPersona, target: Target, patch: str, requested: list[str] | None = None
) -> Proposal:
    """Submit and run the gate inline; returns the proposal as the gate left it."""
    proposal = submit(persona, target, patch, requested)
    assert gate_run(proposal_id=proposal.pk) is None
    proposal.refresh_from_db()
    return proposal


def result_of(proposal: Proposal, name: str) -> Any:
    return proposal.test_run.results.get(name=name)


def gate_events(proposal: Proposal) -> list[str]:
    return list(
        Event.objects.filter(proposal=proposal, kind__in=["TestGatePassed", "PatchRejected"])
        .order_by("seq")
        .values_list("kind", flat=True)
    )


__all__ = ["make_test"]
