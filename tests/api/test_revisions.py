"""Revisions through the API: `revises`, its refusals, supersession, stale, rebase, withdraw."""

from __future__ import annotations

from typing import Any

import pytest

from audit.gates import gates_run
from audit.reviews import review_record
from patches.formats import make_patch
from patches.models import Event, Proposal, Target
from tests.api.conftest import Api, assert_problem
from tests.factories import (
    AgentPersona,
    counts,
    make_agent,
    make_reviewer,
    make_target,
    proposal_body,
    signed_envelope,
)

LINES = "".join(f"Line {n} of the prompt.\n" for n in range(1, 21))


@pytest.fixture
def prompt(db: None) -> Target:
    return make_target(name="helper", patch_type="Prompt", content=LINES)


def change_line(target: Target, number: int, text: str) -> str:
    target.refresh_from_db()
    base = target.versions.get(version=target.version).content
    return make_patch(
        content_kind="text",
        old=base,
        new=base.replace(f"Line {number} of the prompt.\n", text + "\n"),
    )


def send(api: Api, target: Target, patch: str, persona: AgentPersona | None = None, **extra: Any):  # type: ignore[no-untyped-def]
    target.refresh_from_db()
    body = proposal_body(target=target, patch=patch, **extra)
    return api.submit(signed_envelope(persona or api.persona, body), persona=persona)


def gated(response: Any) -> Proposal:
    assert response.status_code == 201, response.content
    gates_run(proposal_id=response.json()["id"])
    return Proposal.objects.get(pk=response.json()["id"])


def decide(proposal: Proposal, reviewer: Any, decision: str = "approve", **extra: Any) -> None:
    proposal.refresh_from_db()
    review_record(
        proposal=proposal,
        reviewer=reviewer,
        decision=decision,
        reason="Checked it.",
        patch_hash=proposal.patch_hash,
        base_content_hash=proposal.base_content_hash,
        **extra,
    )


def test_a_revision_supersedes_the_proposal_it_revises_and_joins_its_change(api, prompt):
    first = gated(send(api, prompt, change_line(prompt, 3, "Line three, shorter.")))
    response = send(
        api, prompt, change_line(prompt, 3, "Line three, shortest."), revises=first.patch_hash
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["change"] == first.pk
    first.refresh_from_db()
    assert first.status == "superseded"
    event = Event.objects.get(kind="PatchSuperseded")
    assert event.actor == "agent:agent-smith"
    assert event.payload_value["patch_hash"] == first.patch_hash
    assert event.payload_value["by"] == body["patch_hash"]
    detail = api.get(f"/proposals/{body['id']}").json()
    assert (detail["change"], detail["revision"]) == (first.pk, 2)
    assert detail["revisions"] == [
        {"id": first.pk, "patch_hash": first.patch_hash, "status": "superseded"},
        {"id": body["id"], "patch_hash": body["patch_hash"], "status": "testing"},
    ]
    # Both gates run again on the revision.
    revision = gated(response)
    assert revision.status == "in_review"
    assert revision.test_run.patch_hash == revision.patch_hash


def test_revises_is_covered_by_the_signature(api, prompt):
    first = gated(send(api, prompt, change_line(prompt, 3, "Line three, shorter.")))
    prompt.refresh_from_db()
    body = proposal_body(target=prompt, patch=change_line(prompt, 3, "Other."))
    envelope = signed_envelope(api.persona, body)
    envelope["proposal"]["revises"] = first.patch_hash  # added after signing
    before = counts()
    assert_problem(api.submit(envelope), 400, "bad-signature")
    assert counts() == before


@pytest.mark.parametrize(
    ("case", "status", "slug"),
    [
        ("no such proposal", 404, "revises-not-found"),
        ("another agent's proposal", 404, "revises-not-found"),
        ("another target", 422, "revises-other-target"),
        ("applied", 409, "revises-not-open"),
        ("withdrawn", 409, "revises-not-open"),
        ("rejected", 409, "revises-not-open"),
        ("superseded", 409, "revises-not-open"),
        ("not a patch hash", 422, "malformed-envelope"),
    ],
)
def test_every_revises_refusal_answers_the_contracts_code_and_stores_nothing(
    api, prompt, case, status, slug
):
    rita = make_reviewer("rita")
    other_target = make_target(name="other", patch_type="Prompt", content=LINES)
    jones = make_agent("jones")
    revised: Any
    if case == "no such proposal":
        revised = "sha256:" + "a" * 64
    elif case == "another agent's proposal":
        revised = gated(send(api, prompt, change_line(prompt, 4, "Jones."), persona=jones))
    elif case == "another target":
        revised = gated(send(api, other_target, change_line(other_target, 4, "Elsewhere.")))
    elif case == "not a patch hash":
        revised = "first"
    else:
        revised = gated(send(api, prompt, change_line(prompt, 4, "Decided.")))
        if case == "applied":
            decide(revised, rita)
        elif case == "withdrawn":
            api.post_json(f"/proposals/{revised.pk}/withdraw", b"")
        elif case == "rejected":
            decide(revised, rita, "reject")
        else:
            gated(send(api, prompt, change_line(prompt, 4, "Newer."), revises=revised.patch_hash))
        revised.refresh_from_db()
        assert revised.status == case
    revises = revised if isinstance(revised, str) else revised.patch_hash
    prompt.refresh_from_db()
    patch = change_line(prompt, 9, "A revision.")
    before = counts()
    problem = assert_problem(send(api, prompt, patch, revises=revises), status, slug)
    assert counts() == before
    assert problem["detail"]


def test_withdrawing_a_decided_proposal_is_refused_with_409(api, prompt):
    proposal = gated(send(api, prompt, change_line(prompt, 2, "Two.")))
    decide(proposal, make_reviewer("rita"))
    before = counts()
    problem = assert_problem(
        api.post_json(f"/proposals/{proposal.pk}/withdraw", b""), 409, "not-withdrawable"
    )
    assert "applied" in problem["detail"]
    assert counts() == before


def test_a_stale_or_changes_requested_proposal_can_still_be_withdrawn(api, prompt):
    rita = make_reviewer("rita")
    first = gated(send(api, prompt, change_line(prompt, 2, "Two.")))
    second = gated(send(api, prompt, change_line(prompt, 12, "Twelve.")))
    third = gated(send(api, prompt, change_line(prompt, 15, "Fifteen.")))
    decide(third, rita, "request_changes")
    decide(first, rita)
    second.refresh_from_db()
    third.refresh_from_db()
    assert (second.status, third.status) == ("stale", "stale")
    for proposal in (second, third):
        answer = api.post_json(f"/proposals/{proposal.pk}/withdraw", b"")
        assert answer.status_code == 200 and answer.json()["status"] == "withdrawn"


def test_rebase_is_only_for_stale_proposals(api, prompt):
    proposal = gated(send(api, prompt, change_line(prompt, 2, "Two.")))
    before = counts()
    assert_problem(api.get(f"/proposals/{proposal.pk}/rebase"), 409, "not-stale")
    assert counts() == before


def test_a_stale_proposal_on_other_lines_rebases_cleanly_and_says_so(api, prompt):
    rita = make_reviewer("rita")
    first = gated(send(api, prompt, change_line(prompt, 2, "Two.")))
    second = gated(send(api, prompt, change_line(prompt, 15, "Fifteen.")))
    decide(first, rita)
    detail = api.get(f"/proposals/{second.pk}").json()
    assert detail["status"] == "stale"
    assert detail["stale"] == {"current_version": 2, "rebase": "clean"}
    rebased = api.get(f"/proposals/{second.pk}/rebase").json()
    assert rebased["base_version"] == 2 and rebased["same_change"] is True
    assert "+Fifteen.\n" in rebased["patch"] and "-Line 15 of the prompt.\n" in rebased["patch"]


def test_a_stale_proposal_on_the_same_lines_conflicts_naming_the_hunk(api, prompt):
    rita = make_reviewer("rita")
    first = gated(send(api, prompt, change_line(prompt, 5, "Five.")))
    second = gated(send(api, prompt, change_line(prompt, 6, "Six.")))
    decide(first, rita)
    assert api.get(f"/proposals/{second.pk}").json()["stale"]["rebase"] == "conflict"
    problem = assert_problem(api.get(f"/proposals/{second.pk}/rebase"), 409, "rebase-conflict")
    assert problem["conflicts"] == [
        {
            "where": "hunk 1 (@@ -3,7 +3,7 @@)",
            "problem": "its old lines are not in the new base (they changed)",
        }
    ]


def test_a_json_rebase_conflicts_on_a_pointer_whose_old_value_changed(api, db):
    from tests.factories import ROUTING

    router = make_target(name="router", patch_type="Routing", content=ROUTING)
    rita = make_reviewer("rita")
    set_weight = '[{"op": "replace", "path": "/routes/billing/weight", "value": %s}]'
    first = gated(send(api, router, set_weight % "2.0"))
    clean = gated(send(api, router, '[{"op": "replace", "path": "/threshold", "value": 3}]'))
    clash = gated(send(api, router, set_weight % "4.0"))
    decide(first, rita)
    rebased = api.get(f"/proposals/{clean.pk}/rebase").json()
    assert rebased == {"base_version": 2, "patch": clean.patch, "same_change": True}
    problem = assert_problem(api.get(f"/proposals/{clash.pk}/rebase"), 409, "rebase-conflict")
    assert problem["conflicts"][0]["where"] == "operation 0 (replace '/routes/billing/weight')"
