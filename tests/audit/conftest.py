"""A scripted history for the log tests: targets, signed proposals applied through the lifecycle."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from audit.gate import audit_gate_run
from audit.reviews import review_record
from patches.agents import agent_key_revoke
from patches.canonical import hash_of
from patches.formats import content_hash, make_patch
from patches.lifecycle import proposal_pass_test_gate, proposal_reject
from patches.log import event_append
from patches.models import GateStatus, Proposal, ProposalStatus, Signature, Target, TestRun
from tests.factories import (
    PROMPT,
    ROUTING,
    AgentPersona,
    make_agent,
    make_reviewer,
    make_target,
    proposal_body,
    signed_envelope,
)

CONFIG = {"retries": 3, "greeting": "hello", "limits": {"per_minute": 60}}

# The append-only triggers of a log table (audit migrations 0002 and 0005), by backend.
TRIGGERS = {
    "sqlite": ["DROP TRIGGER {table}_no_update", "DROP TRIGGER {table}_no_delete"],
    "postgresql": [
        "DROP TRIGGER {table}_append_only ON {table}",
        "DROP TRIGGER {table}_no_truncate ON {table}",
    ],
}


def drop_event_triggers(tables: tuple[str, ...] = ("audit_event",)) -> None:
    """Inside the test's transaction (DDL is transactional on both backends): undone after."""
    with connection.cursor() as cursor:
        for table in tables:
            for statement in TRIGGERS[connection.vendor]:
                cursor.execute(statement.format(table=table))


def run_command(name: str, *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a management command."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def propose(persona: AgentPersona, target: Target, patch: str) -> Proposal:
    """A signed proposal as the submit service stores it, with a passing test gate."""
    target.refresh_from_db()
    body = proposal_body(target=target, patch=patch)
    envelope = signed_envelope(persona, body)
    proposal = Proposal.objects.create(
        agent=persona.agent,
        target=target,
        envelope=json.dumps(envelope, indent=1),  # as received: not necessarily canonical
        patch_hash=hash_of(body),
        nonce=body["nonce"],
        patch_type=body["patch_type"],
        base_version=body["base_version"],
        base_content_hash=target.versions.get(version=target.version).content_hash,
        patch=patch,
        reasoning=body["reasoning"],
        status=ProposalStatus.TESTING,
    )
    Proposal.objects.filter(pk=proposal.pk).update(change=proposal.pk)  # the first of its change
    proposal.change_id = proposal.pk
    Signature.objects.create(
        proposal=proposal,
        key=persona.agent.keys.get(key_id=persona.key_id),
        value=envelope["signature"]["value"],
        verified_at=timezone.now(),
    )
    TestRun.objects.create(
        proposal=proposal, patch_hash=proposal.patch_hash, status=GateStatus.PASSED
    )
    event_append(
        kind="PatchProposed",
        actor=f"agent:{persona.agent.name}",
        payload={"patch_hash": proposal.patch_hash, "target": target.name, "proposal": proposal.pk},
        proposal=proposal,
    )
    proposal = proposal_pass_test_gate(proposal=proposal)
    audit_gate_run(proposal_id=proposal.pk)
    proposal.refresh_from_db()
    return proposal


def json_patch(*operations: dict[str, Any]) -> str:
    return json.dumps(list(operations))


@dataclass
class History:
    persona: AgentPersona
    targets: dict[str, Target] = field(default_factory=dict)
    applied: list[Proposal] = field(default_factory=list)

    def apply(self, target: str, patch: str) -> Proposal:
        """Proposed, both gates passed, approved by rita: applied as the console applies."""
        proposal = propose(self.persona, self.targets[target], patch)
        review_record(
            proposal=proposal,
            reviewer=history_reviewer(),
            decision="approve",
            reason="Reads right.",
            patch_hash=proposal.patch_hash,
            base_content_hash=proposal.base_content_hash,
        )
        proposal.refresh_from_db()
        assert proposal.status == ProposalStatus.APPLIED
        self.applied.append(proposal)
        return proposal


def history_reviewer() -> Any:
    """rita, the reviewer of every scripted history (created once per test database)."""
    existing = User.objects.filter(username="rita").first()
    return existing or make_reviewer("rita")


def build_history(*, checkpoint: Callable[[], Any] | None = None) -> History:
    """A prompt and two JSON targets, four applied patches, a rejection and a revoked key."""
    history = History(persona=make_agent("scripted"))
    history.targets["routing"] = make_target("routing", "Routing", ROUTING)
    history.targets["settings"] = make_target("settings", "Config", CONFIG)
    history.targets["system_prompt"] = make_target("system_prompt", "Prompt", PROMPT)
    history.apply(
        "system_prompt",
        make_patch(
            content_kind="text", old=PROMPT, new=PROMPT.replace("politely", "briefly and politely")
        ),
    )
    history.apply("routing", json_patch({"op": "replace", "path": "/threshold", "value": 1.5}))
    history.apply("settings", json_patch({"op": "add", "path": "/limits/per_hour", "value": 600}))
    if checkpoint is not None:
        checkpoint()
    history.apply(
        "routing",
        json_patch(
            {"op": "add", "path": "/routes/billing/keywords/chargeback", "value": 2.5},
            {"op": "remove", "path": "/routes/tech"},
        ),
    )
    rejected = propose(
        history.persona,
        history.targets["settings"],
        json_patch({"op": "replace", "path": "/retries", "value": 9}),
    )
    proposal_reject(
        proposal=rejected, stage="audit_gate", reason="Too many retries.", actor="user:rita"
    )
    spare = make_agent("spare")
    agent_key_revoke(key=spare.agent.keys.get(), actor="user:admin")
    return history


@pytest.fixture
def history(db: None) -> History:
    return build_history()


def expected_content_hash(value: Any) -> str:
    return content_hash(json.dumps(value, separators=(",", ":"), sort_keys=True))
