"""Label tests: an agent, reviewers, a routing target, and patches applied the real way (the
API's submit, both gates, an approval)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from audit.reviews import review_record
from patches.models import Proposal, Target, TargetVersion
from tests.factories import (
    ROUTING,
    AgentPersona,
    make_agent,
    make_reviewer,
    make_target,
    proposal_body,
    signed_envelope,
    threshold_patch,
)

Apply = Callable[[Target, float], TargetVersion]


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    # The observed rate limit counts in the cache, which outlives each test's transaction.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def smith(db: None) -> AgentPersona:
    return make_agent("agent-smith")


@pytest.fixture
def rita(db: None) -> User:
    return make_reviewer("rita")


@pytest.fixture
def rob(db: None) -> User:
    return make_reviewer("rob")


@pytest.fixture
def alice(db: None) -> User:
    return make_reviewer("alice", admin=True)


def routing_target(name: str = "router", **extra: Any) -> Target:
    return make_target(name=name, patch_type="Routing", content=ROUTING, **extra)


@pytest.fixture
def apply(smith: AgentPersona, rob: User, django_capture_on_commit_callbacks: Any) -> Apply:
    """Submit a threshold change over the API, let both gates run, approve it as rob."""

    def applied(target: Target, value: float) -> TargetVersion:
        target.refresh_from_db()
        envelope = signed_envelope(
            smith, proposal_body(target=target, patch=threshold_patch(value))
        )
        with django_capture_on_commit_callbacks(execute=True):
            response = Client().post(
                "/api/v1/proposals",
                data=json.dumps(envelope),
                content_type="application/json",
                **smith.auth,
            )
        assert response.status_code == 201, response.content
        proposal = Proposal.objects.get(pk=response.json()["id"])
        assert proposal.status == "in_review", proposal.reason
        review_record(
            proposal=proposal,
            reviewer=rob,
            decision="approve",
            reason="Fine.",
            patch_hash=proposal.patch_hash,
            base_content_hash=proposal.base_content_hash,
        )
        target.refresh_from_db()
        return TargetVersion.objects.get(target=target, version=target.version)

    return applied


def events_of(kind: str) -> list[dict[str, Any]]:
    from patches.models import Event

    return [e.payload_value for e in Event.objects.filter(kind=kind).order_by("seq")]
