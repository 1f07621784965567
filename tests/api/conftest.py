"""Fixtures for agent API tests: a signed-in agent, a JSON target, problem assertions."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from patches.models import Target
from tests.factories import (
    ROUTING,
    AgentPersona,
    make_agent,
    make_target,
    proposal_body,
    signed_envelope,
    threshold_patch,
)

API = "/api/v1"


@dataclass
class Api:
    client: Client
    persona: AgentPersona

    def post_json(
        self, path: str, body: Any, persona: AgentPersona | None = None, **extra: Any
    ) -> Any:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return self.client.post(
            API + path,
            data=data,
            content_type="application/json",
            **(persona or self.persona).auth,
            **extra,
        )

    def get(self, path: str, persona: AgentPersona | None = None, **extra: Any) -> Any:
        return self.client.get(API + path, **(persona or self.persona).auth, **extra)

    def submit(self, envelope: dict[str, Any], persona: AgentPersona | None = None) -> Any:
        return self.post_json("/proposals", envelope, persona=persona)


@pytest.fixture
def agent(db: None) -> AgentPersona:
    return make_agent("agent-smith")


@pytest.fixture
def api(agent: AgentPersona) -> Api:
    return Api(client=Client(), persona=agent)


@pytest.fixture
def routing(db: None) -> Target:
    return make_target(name="router", patch_type="Routing", content=ROUTING)


@pytest.fixture
def good_envelope(agent: AgentPersona, routing: Target) -> Callable[..., dict[str, Any]]:
    def build(**fields: Any) -> dict[str, Any]:
        fields.setdefault("patch", threshold_patch())
        return signed_envelope(agent, proposal_body(target=routing, **fields))

    return build


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == f"https://patch-console.invalid/problems/{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body
