"""Admin test setup: a superuser client and one row of every model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from audit.gates import proposal_submit_and_gate
from audit.models import (
    Checkpoint,
    Cosignature,
    Finding,
    MerkleNode,
    Review,
    ReviewComment,
)
from console.models import (
    LogCursor,
    ReviewNotice,
    WebhookAttempt,
    WebhookSubscription,
    WorkerHeartbeat,
)
from patches.canonical import canonical
from patches.models import Event, Proposal, Target, TestResult, TestRun
from tests.factories import (
    ROUTING,
    AgentPersona,
    make_agent,
    make_reviewer,
    make_target,
    make_test,
    proposal_body,
    signed_envelope,
)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_user(db: None) -> User:
    return make_reviewer("ada", admin=True)


@pytest.fixture
def admin_client(admin_user: User) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@dataclass
class World:
    target: Target
    persona: AgentPersona
    proposal: Proposal


@pytest.fixture
def world(admin_user: User) -> World:
    """A routing target with a mandatory test, an agent, and a submitted proposal with history."""
    test = make_test(
        "billing-cases", "routing_cases", {"cases": [{"input": "invoice", "expect": "billing"}]}
    )
    target = make_target("router", "Routing", ROUTING, tests=["billing-cases"])
    persona = make_agent("router-agent")
    patch = json.dumps([{"op": "replace", "path": "/routes/billing/weight", "value": 0.45}])
    body = canonical(signed_envelope(persona, proposal_body(target=target, patch=patch)))
    proposal = proposal_submit_and_gate(agent=persona.agent, body=body)
    run, _ = TestRun.objects.get_or_create(
        proposal=proposal, defaults={"patch_hash": proposal.patch_hash}
    )
    TestResult.objects.get_or_create(
        run=run, test=test, defaults={"name": test.name, "status": "passed"}
    )
    Finding.objects.create(
        proposal=proposal, check_name="budget", severity="info", message="small change"
    )
    review = Review.objects.create(
        proposal=proposal,
        reviewer=make_reviewer("rita"),
        decision="approve",
        reason="Looks right.",
        patch_hash=proposal.patch_hash,
        base_content_hash=proposal.base_content_hash,
    )
    last = Event.objects.order_by("-seq").first()
    assert last is not None
    checkpoint = Checkpoint.objects.create(
        seq=last.seq, head=last.hash, key_id="k" * 64, signature="c2ln"
    )
    ReviewComment.objects.create(review=review, anchor={"pointer": "/threshold"}, body="Why 2?")
    Cosignature.objects.create(
        checkpoint=checkpoint, witness="witness.example", timestamp=1, line="— w c2ln\n"
    )
    MerkleNode.objects.create(node=0, hash=b"\x00" * 32)
    WorkerHeartbeat.objects.create(worker="celery@test", seen_at=timezone.now())
    hook = WebhookSubscription.objects.create(
        url="https://hooks.example/", event_kinds=["PatchApplied"], sealed_secret="x", cursor=0
    )
    WebhookAttempt.objects.create(
        subscription=hook, event_seq=1, webhook_id=last.hash, attempted_at=timezone.now()
    )
    LogCursor.objects.create(name="review-notices", seq=last.seq)
    ReviewNotice.objects.create(user=admin_user, proposal=proposal, queued_at=timezone.now())
    _label_rows(target, persona)
    return World(target=target, persona=persona, proposal=proposal)


def _label_rows(target: Target, persona: AgentPersona) -> None:
    """A waiting label move with one approval, and one observed report."""
    from audit.models import LabelMoveApproval, LabelMoveRequest
    from patches.models import Observation

    move = LabelMoveRequest.objects.create(
        label=target.labels.get(name="production"), to_version=1, reason="why", base_version=1,
        requested_by=make_reviewer("label-asker"), approvals_required=2,
    )  # fmt: skip
    LabelMoveApproval.objects.create(request=move, reviewer=make_reviewer("label-approver"))
    Observation.objects.create(
        agent=persona.agent, target=target, instance="i-1", content_hash="sha256:" + "0" * 64,
        last_seen=timezone.now(),
    )  # fmt: skip
