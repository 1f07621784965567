"""Personas and proposal helpers for the console's view tests."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from audit.gates import gates_run, proposal_submit_and_gate
from patches.formats import make_patch
from patches.models import Proposal, Target
from tests.factories import (
    PROMPT,
    AgentPersona,
    canonical_body,
    make_agent,
    make_reviewer,
    make_target,
    make_test,
    proposal_body,
    signed_envelope,
)

PASSWORD = "correct horse battery"


def prompt_patch(target: Target, new_line: str = "Answer politely and briefly.\n") -> str:
    base = target.versions.get(version=target.version).content
    lines = base.splitlines(keepends=True)
    lines[1] = new_line
    return make_patch(content_kind="text", old=base, new="".join(lines))


def submit(
    persona: AgentPersona,
    target: Target,
    *,
    patch: str | None = None,
    reasoning: str = "Shorter answers read better on phones.",
    tests: list[str] | None = None,
) -> Proposal:
    target.refresh_from_db()
    body = proposal_body(
        target=target,
        patch=patch if patch is not None else prompt_patch(target),
        reasoning=reasoning,
        test_requirements=tests,
    )
    return proposal_submit_and_gate(
        agent=persona.agent, body=canonical_body(signed_envelope(persona, body))
    )


def run_gate(proposal: Proposal) -> Proposal:
    """What the Celery task does, inline: the test gate, then the audit gate."""
    gates_run(proposal_id=proposal.pk)
    proposal.refresh_from_db()
    return proposal


def in_review(persona: AgentPersona, target: Target, **kwargs: Any) -> Proposal:
    proposal = run_gate(submit(persona, target, **kwargs))
    assert proposal.status == "in_review", proposal.reason
    return proposal


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # make_reviewer hashes a password; PBKDF2's deliberate slowness buys tests nothing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def agent(db: None) -> AgentPersona:
    return make_agent("agent-smith")


@pytest.fixture
def target(db: None) -> Target:
    make_test("prompt-placeholders", "placeholders")
    make_test("max-length", "max_length", {"chars": 4000})
    return make_target(
        "system_prompt", "Prompt", PROMPT, tests=["prompt-placeholders", "max-length"]
    )


@pytest.fixture
def rita(db: None) -> User:
    return make_reviewer("rita")


@pytest.fixture
def rob(db: None) -> User:
    return make_reviewer("rob")


@pytest.fixture
def alice(db: None) -> User:
    """An admin."""
    return make_reviewer("alice", admin=True)


@pytest.fixture
def outsider(db: None) -> User:
    """Signed in, but neither reviewer, owner nor admin."""
    return User.objects.create_user(username="olga", password=PASSWORD)
