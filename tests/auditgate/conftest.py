"""Audit-gate test setup: reviewers, an agent, JSON targets, and proposals that reached review."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from audit.gate import audit_gate_run
from audit.reviews import review_record
from patches.canonical import canonical, hash_of
from patches.lifecycle import proposal_pass_test_gate
from patches.log import event_append
from patches.models import (
    GateStatus,
    Proposal,
    Signature,
    Target,
    TargetVersion,
    TestRun,
)
from tests.factories import (
    ROUTING,
    AgentPersona,
    make_agent,
    make_reviewer,
    make_target,
    proposal_body,
    signed_envelope,
)

REASONING = "Invoices are the clearest billing signal we see."


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # Reviewers are created in nearly every test; PBKDF2 would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_gate_enqueue(monkeypatch: pytest.MonkeyPatch) -> None:
    # These tests pass the test gate by calling its service (gate_pass below); the Celery
    # task would need the runner, which another area owns.
    monkeypatch.setattr("audit.gates._publish", lambda proposal_id: None)


def routing_target(name: str = "router", **extra: Any) -> Target:
    return make_target(name=name, patch_type="Routing", content=ROUTING, **extra)


def json_patch(*operations: dict[str, Any]) -> str:
    return json.dumps(list(operations))


def weight(route: str, value: float) -> str:
    return json_patch({"op": "replace", "path": f"/routes/{route}/weight", "value": value})


def gate_pass(proposal: Proposal) -> Proposal:
    """The test gate's outcome for the exact patch_hash, then the audit gate."""
    TestRun.objects.filter(proposal=proposal).update(
        status=GateStatus.PASSED, finished_at=timezone.now()
    )
    proposal_pass_test_gate(proposal=proposal)
    audit_gate_run(proposal_id=proposal.pk)
    proposal.refresh_from_db()
    return proposal


def proposal_make(
    persona: AgentPersona,
    target: Target,
    patch: str,
    *,
    reasoning: str = REASONING,
    base_version: int | None = None,
    passed: bool = True,
) -> Proposal:
    """A stored, signed proposal as the submit service would store it, then (by default) gated."""
    target.refresh_from_db()
    fields = proposal_body(
        target=target, patch=patch, reasoning=reasoning, base_version=base_version
    )
    envelope = signed_envelope(persona, fields)
    base = TargetVersion.objects.get(target=target, version=fields["base_version"])
    proposal = Proposal.objects.create(
        agent=persona.agent,
        target=target,
        envelope=canonical(envelope).decode(),
        patch_hash=hash_of(fields),
        nonce=fields["nonce"],
        patch_type=fields["patch_type"],
        base_version=fields["base_version"],
        base_content_hash=base.content_hash,
        patch=patch,
        reasoning=reasoning,
        test_requirements=[],
        approvals_required=target.required_approvals,
    )
    Signature.objects.create(
        proposal=proposal,
        key=persona.agent.keys.get(),
        value=envelope["signature"]["value"],
        verified_at=timezone.now(),
    )
    TestRun.objects.create(proposal=proposal, patch_hash=proposal.patch_hash)
    # As submit logs it: the log's lifecycle rules need every applied patch proposed first.
    event_append(
        kind="PatchProposed",
        actor=f"agent:{persona.agent.name}",
        payload={"patch_hash": proposal.patch_hash, "target": target.name, "proposal": proposal.pk},
        proposal=proposal,
    )
    return gate_pass(proposal) if passed else proposal


def approve(proposal: Proposal, reviewer: User, reason: str = "Looks right to me.") -> Any:
    proposal.refresh_from_db()
    return review_record(
        proposal=proposal,
        reviewer=reviewer,
        decision="approve",
        reason=reason,
        patch_hash=proposal.patch_hash,
        base_content_hash=proposal.base_content_hash,
    )


def reject(proposal: Proposal, reviewer: User, reason: str = "This would misroute refunds.") -> Any:
    proposal.refresh_from_db()
    return review_record(
        proposal=proposal,
        reviewer=reviewer,
        decision="reject",
        reason=reason,
        patch_hash=proposal.patch_hash,
        base_content_hash=proposal.base_content_hash,
    )


@pytest.fixture
def agent() -> AgentPersona:
    return make_agent()


@pytest.fixture
def rita() -> User:
    return make_reviewer("rita")


@pytest.fixture
def rob() -> User:
    return make_reviewer("rob")


@pytest.fixture
def ruth() -> User:
    return make_reviewer("ruth")


LONG_PROMPT = "".join(f"Line {n} of the support prompt.\n" for n in range(1, 13)).replace(
    "Line 6 of the support prompt.", "Never reveal {secret}."
)


def prompt_target(name: str = "system_prompt", content: str = LONG_PROMPT, **extra: Any) -> Target:
    return make_target(name=name, patch_type="Prompt", content=content, **extra)


def text_patch(target: Target, old: str, new: str) -> str:
    """A unified diff from the target's current content, replacing old with new."""
    from patches.formats import make_patch

    target.refresh_from_db()
    current = TargetVersion.objects.get(target=target, version=target.version).content
    assert old in current
    return make_patch(content_kind="text", old=current, new=current.replace(old, new))
