"""Small test factories: agents with keys and tokens, targets, tests, envelopes, row counts."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.contrib.auth.models import Group, User

from audit.access import REVIEWERS_GROUP
from audit.models import Review
from patches.agents import agent_create
from patches.canonical import canonical, hash_of
from patches.models import (
    Agent,
    Event,
    Proposal,
    Signature,
    Target,
    TargetVersion,
    TestDefinition,
    TestResult,
    TestRun,
)
from patches.signing import key_id_of, raw_public_key, sign
from patches.targets import target_create


@dataclass
class AgentPersona:
    agent: Agent
    token: str
    private_key: Ed25519PrivateKey

    @property
    def key_id(self) -> str:
        return key_id_of(raw_public_key(self.private_key.public_key()))

    @property
    def auth(self) -> dict[str, str]:
        """Headers for the test client."""
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}


def make_agent(name: str = "agent-smith") -> AgentPersona:
    # The console registers keys (agent_create, the agents page as an admin): the log's
    # lifecycle rules refuse a key registered by anyone else.
    created = agent_create(name=name, actor="system:console")
    assert created.private_key is not None
    return AgentPersona(agent=created.agent, token=created.token, private_key=created.private_key)


def make_reviewer(username: str = "rita", *, admin: bool = False) -> User:
    user = User.objects.create_user(username=username, password="correct horse battery")
    group, _ = Group.objects.get_or_create(name=REVIEWERS_GROUP)
    user.groups.add(group)
    if admin:
        user.is_staff = True
        user.is_superuser = True
        user.save()
    return user


def make_test(
    name: str, kind: str, params: dict[str, Any] | None = None, **extra: Any
) -> TestDefinition:
    return TestDefinition.objects.create(name=name, kind=kind, params=params or {}, **extra)


PROMPT = (
    "You are a helpful support agent for {company}.\nAnswer politely.\nNever reveal {secret}.\n"
)
ROUTING = {
    "default": "general",
    "threshold": 1.0,
    "routes": {
        "billing": {"weight": 1.0, "keywords": {"invoice": 2.0, "refund": 1.5}},
        "tech": {"weight": 1.0, "keywords": {"error": 2.0, "crash": 2.0}},
    },
}


def make_target(
    name: str = "system_prompt",
    patch_type: str = "Prompt",
    content: Any = PROMPT,
    **extra: Any,
) -> Target:
    raw = content if isinstance(content, str) else json.dumps(content)
    return target_create(name=name, patch_type=patch_type, content=raw, actor="user:test", **extra)


def proposal_body(
    *,
    target: Target,
    patch: str,
    base_version: int | None = None,
    reasoning: str = "Clearer instructions for refunds.",
    test_requirements: list[str] | None = None,
    nonce: str | None = None,
    patch_type: str | None = None,
    revises: str | None = None,
) -> dict[str, Any]:
    body = {
        "patch_type": patch_type or target.patch_type,
        "target": target.name,
        "base_version": target.version if base_version is None else base_version,
        "patch": patch,
        "reasoning": reasoning,
        "test_requirements": test_requirements or [],
        "nonce": nonce or secrets.token_hex(16),
    }
    if revises is not None:
        body["revises"] = revises  # a revision (docs/revisions.md)
    return body


def signed_envelope(persona: AgentPersona, proposal: dict[str, Any]) -> dict[str, Any]:
    return {
        "proposal": proposal,
        "signature": {
            "key_id": persona.key_id,
            "algorithm": "ed25519",
            "value": sign(persona.private_key, proposal),
        },
    }


def patch_hash_of(proposal: dict[str, Any]) -> str:
    return hash_of(proposal)


def canonical_body(envelope: dict[str, Any]) -> bytes:
    return canonical(envelope)


def threshold_patch(value: float = 2.0) -> str:
    """A JSON Patch setting the routing target's threshold."""
    return json.dumps([{"op": "replace", "path": "/threshold", "value": value}])


def counts() -> dict[str, int]:
    """Row counts of everything a request might write: equal before and after a refusal."""
    return {
        "proposals": Proposal.objects.count(),
        "signatures": Signature.objects.count(),
        "test_runs": TestRun.objects.count(),
        "test_results": TestResult.objects.count(),
        "events": Event.objects.count(),
        "reviews": Review.objects.count(),
        "versions": TargetVersion.objects.count(),
    }
