"""GET /api/v1/proposals[/{id}] and POST …/withdraw: an agent sees and withdraws only its own."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from audit.models import Review
from patches.models import Event, Proposal, TargetVersion, TestResult
from tests.api.conftest import assert_problem
from tests.factories import counts, make_agent, make_reviewer, make_test, threshold_patch


@pytest.fixture
def submitted(api, good_envelope):
    response = api.submit(good_envelope())
    assert response.status_code == 201
    return Proposal.objects.get(pk=response.json()["id"])


def test_it_shows_an_agent_its_proposal_with_tests_and_reviews(api, agent, routing, db):
    routing.offered_tests.add(make_test("shape", "json_schema", {"schema": {"type": "object"}}))
    from tests.factories import proposal_body, signed_envelope

    response = api.submit(
        signed_envelope(
            agent,
            proposal_body(target=routing, patch=threshold_patch(), test_requirements=["shape"]),
        )
    )
    proposal = Proposal.objects.get(pk=response.json()["id"])
    TestResult.objects.filter(run__proposal=proposal).update(
        status="passed", duration_ms=12, output="ok"
    )
    rita = make_reviewer("rita")
    Review.objects.create(
        proposal=proposal,
        reviewer=rita,
        decision="approve",
        reason="Looks right.",
        patch_hash=proposal.patch_hash,
        base_content_hash=proposal.base_content_hash,
    )
    body = api.get(f"/proposals/{proposal.pk}").json()
    review = body.pop("reviews")
    assert body == {
        "id": proposal.pk,
        "patch_hash": proposal.patch_hash,
        "status": "testing",
        "stage": "",
        "reason": "",
        "target": "router",
        "patch_type": "Routing",
        "base_version": 1,
        "applied_version": None,
        "change": proposal.pk,
        "revision": 1,
        "revisions": [{"id": proposal.pk, "patch_hash": proposal.patch_hash, "status": "testing"}],
        "tests": [{"name": "shape", "status": "passed", "duration_ms": 12, "output": "ok"}],
        "stale": None,
    }
    assert review[0]["carried_from"] is None and review[0]["comments"] == []
    assert review[0]["reviewer"] == "rita" and review[0]["decision"] == "approve"
    assert review[0]["reason"] == "Looks right." and review[0]["created_at"].endswith("Z")


def test_it_reports_the_version_an_applied_proposal_produced(api, submitted, routing):
    base = TargetVersion.objects.get(target=routing, version=1)
    TargetVersion.objects.create(
        target=routing,
        version=2,
        content=base.content,
        content_hash=base.content_hash,
        proposal=submitted,
    )
    Proposal.objects.filter(pk=submitted.pk).update(status="applied")
    body = api.get(f"/proposals/{submitted.pk}").json()
    assert body["status"] == "applied" and body["applied_version"] == 2


def test_it_gives_the_same_404_for_a_missing_proposal_and_another_agents(api, submitted):
    other = make_agent("agent-jones")
    theirs = api.get(f"/proposals/{submitted.pk}", persona=other)
    missing = api.get(f"/proposals/{submitted.pk + 1000}", persona=other)
    assert_problem(theirs, 404, "not-found")
    assert_problem(missing, 404, "not-found")
    assert theirs.json()["title"] == missing.json()["title"]


def test_it_lists_only_the_agents_own_proposals_filtered_and_paged(api, good_envelope, submitted):
    other = make_agent("agent-jones")
    assert api.get("/proposals", persona=other).json() == []
    second = api.submit(good_envelope(patch=threshold_patch(5.0))).json()
    Proposal.objects.filter(pk=submitted.pk).update(status="withdrawn")
    listed = api.get("/proposals").json()
    assert [p["id"] for p in listed] == [second["id"], submitted.pk]
    assert [p["id"] for p in api.get("/proposals?status=withdrawn").json()] == [submitted.pk]
    assert [p["id"] for p in api.get("/proposals?limit=1&offset=1").json()] == [submitted.pk]
    assert_problem(api.get("/proposals?status=lost"), 422, "validation-error")
    assert_problem(api.get("/proposals?limit=0"), 422, "validation-error")


def test_an_agent_can_withdraw_its_open_proposal(api, submitted):
    response = api.post_json(f"/proposals/{submitted.pk}/withdraw", "")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "withdrawn"
    event = Event.objects.get(kind="PatchWithdrawn")
    assert event.actor == "agent:agent-smith"
    assert json.loads(event.payload)["proposal"] == submitted.pk


def test_withdrawing_a_decided_proposal_gives_409_and_changes_nothing(api, submitted):
    Proposal.objects.filter(pk=submitted.pk).update(
        status="rejected", stage="test_gate", reason="Test failed: shape", decided_at=timezone.now()
    )
    before = counts()
    problem = assert_problem(
        api.post_json(f"/proposals/{submitted.pk}/withdraw", ""), 409, "not-withdrawable"
    )
    assert "rejected" in problem["detail"]
    assert counts() == before
    assert Proposal.objects.get().status == "rejected"


def test_an_agent_cannot_withdraw_another_agents_proposal(api, submitted):
    other = make_agent("agent-jones")
    assert_problem(
        api.post_json(f"/proposals/{submitted.pk}/withdraw", "", persona=other), 404, "not-found"
    )
    assert Proposal.objects.get().status == "testing"
