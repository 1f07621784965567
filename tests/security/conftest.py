"""Personas and helpers for attack tests: agents, reviewers, a routing target."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from patches.models import Target
from tests.factories import ROUTING, AgentPersona, make_agent, make_target

API = "/api/v1"
PROBLEMS = "https://patch-console.invalid/problems/"


def post_raw(client: Client, body: bytes | str, persona: AgentPersona | None) -> Any:
    auth = persona.auth if persona else {}
    return client.post(f"{API}/proposals", data=body, content_type="application/json", **auth)


def post_envelope(client: Client, envelope: dict[str, Any], persona: AgentPersona) -> Any:
    return post_raw(client, json.dumps(envelope), persona)


def problem_slug(response: Any) -> str:
    assert response["Content-Type"].startswith("application/problem+json"), response.content
    body = response.json()
    assert body["status"] == response.status_code
    assert body["detail"]
    return str(body["type"]).removeprefix(PROBLEMS)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    """Personas are made per test; PBKDF2's deliberate slowness only costs time here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def smith(db: None) -> AgentPersona:
    return make_agent("agent-smith")


@pytest.fixture
def jones(db: None) -> AgentPersona:
    return make_agent("agent-jones")


@pytest.fixture
def router(db: None) -> Target:
    return make_target(name="router", patch_type="Routing", content=ROUTING)
