"""Request changes, line comments, stale proposals, revisions and carried approvals, end to end:
the agent through the HTTP API, the reviewer through the proposal page."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from audit.gates import gates_run
from audit.models import Review, ReviewComment
from audit.revisions import change_request_withdraw
from patches.formats import make_patch
from patches.models import Event, Proposal, Target
from tests.console.conftest import client_for
from tests.factories import (
    AgentPersona,
    counts,
    make_reviewer,
    make_target,
    proposal_body,
    signed_envelope,
)

LINES = "".join(f"Line {n} of the prompt.\n" for n in range(1, 21))


@pytest.fixture
def prompt(db: None) -> Target:
    return make_target(name="helper", patch_type="Prompt", content=LINES)


def edit(target: Target, **lines: str) -> str:
    """A diff of the target's current content replacing line N (`l3="…"`) with the text."""
    target.refresh_from_db()
    base = target.versions.get(version=target.version).content
    new = base
    for key, text in lines.items():
        new = new.replace(f"Line {key[1:]} of the prompt.\n", text + "\n")
    return make_patch(content_kind="text", old=base, new=new)


def api_submit(agent: AgentPersona, target: Target, patch: str, **extra: Any) -> Any:
    target.refresh_from_db()
    body = proposal_body(target=target, patch=patch, **extra)
    return Client().post(
        "/api/v1/proposals",
        data=json.dumps(signed_envelope(agent, body)),
        content_type="application/json",
        **agent.auth,
    )


def submitted(agent: AgentPersona, target: Target, patch: str, **extra: Any) -> Proposal:
    response = api_submit(agent, target, patch, **extra)
    assert response.status_code == 201, response.content
    gates_run(proposal_id=response.json()["id"])  # what the Celery task does
    return Proposal.objects.get(pk=response.json()["id"])


def api_get(agent: AgentPersona, path: str) -> Any:
    return Client().get(f"/api/v1{path}", **agent.auth)


def post_decision(
    client: Client,
    proposal: Proposal,
    decision: str,
    comments: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> Any:
    proposal.refresh_from_db()
    return client.post(
        f"/proposals/{proposal.pk}/",
        {
            "decision": decision,
            "reason": "Please tighten the wording.",
            "patch_hash": proposal.patch_hash,
            "base_content_hash": proposal.base_content_hash,
            "comment_anchor": [json.dumps(c["anchor"]) for c in comments],
            "comment_body": [c["body"] for c in comments],
        },
        follow=True,
    )


def test_request_changes_with_two_line_comments_reaches_the_agent_and_blocks_apply(agent, prompt):
    rita, rob = make_reviewer("rita"), make_reviewer("rob")
    first = submitted(agent, prompt, edit(prompt, l3="Line three, long and winding."))
    comments = [
        {"anchor": {"side": "new", "line": 3}, "body": "Too long: one clause."},
        {"anchor": {"side": "old", "line": 3}, "body": "Keep the word 'prompt'."},
    ]
    page = post_decision(client_for(rita), first, "request_changes", comments)
    assert "Requested changes on #" in page.content.decode()
    first.refresh_from_db()
    assert first.status == "changes_requested"
    detail = api_get(agent, f"/proposals/{first.pk}").json()
    assert detail["status"] == "changes_requested"
    assert detail["reviews"][0]["decision"] == "request_changes"
    assert detail["reviews"][0]["comments"] == comments
    logged = Event.objects.get(kind="ReviewRecorded", proposal=first).payload_value
    assert logged["decision"] == "request_changes" and logged["comments"] == comments

    # Another reviewer's approval does not apply it: the request blocks.
    post_decision(client_for(rob), first, "approve")
    first.refresh_from_db()
    assert first.status == "changes_requested"

    # The agent revises; rob's approval does not carry (another change), rita must approve.
    second = submitted(
        agent, prompt, edit(prompt, l3="Line three, short."), revises=first.patch_hash
    )
    assert second.status == "in_review" and (second.change_id, second.revision) == (first.pk, 2)
    html = client_for(rob).get(f"/proposals/{second.pk}/").content.decode()
    assert "are dropped: this revision makes another change" in html
    assert 'data-testid="interdiff-link"' in html
    post_decision(client_for(rob), second, "approve")
    second.refresh_from_db()
    assert second.status == "in_review"  # rita's request still stands
    assert "this cannot apply until rita approves a later revision" in (
        client_for(rob).get(f"/proposals/{second.pk}/").content.decode()
    )
    interdiff = client_for(rita).get(f"/proposals/{second.pk}/interdiff/1..2/")
    assert interdiff.status_code == 200
    text = re.sub(r"<[^>]+>", "", interdiff.content.decode())  # word diffs are in spans
    assert "Line three, long and winding." in text and "Line three, short." in text
    assert 'data-testid="diff"' in interdiff.content.decode()
    post_decision(client_for(rita), second, "approve")
    second.refresh_from_db()
    assert second.status == "applied"


def test_a_comment_anchored_outside_the_diff_is_refused_and_nothing_is_stored(agent, prompt):
    rita = make_reviewer("rita")
    proposal = submitted(agent, prompt, edit(prompt, l3="Three."))
    before = counts()
    page = post_decision(
        client_for(rita),
        proposal,
        "request_changes",
        [{"anchor": {"side": "new", "line": 99}, "body": "Where?"}],
    )
    assert page.status_code == 409
    assert "line 99 is not a line of the new side (1..20)" in page.content.decode()
    assert counts() == before and not ReviewComment.objects.exists()


def test_a_decision_form_names_the_proposals_an_approval_makes_stale_before_and_after(
    agent, prompt
):
    rita = make_reviewer("rita")
    first = submitted(agent, prompt, edit(prompt, l2="Two."))
    others = [
        submitted(agent, prompt, edit(prompt, l10="Ten.")),
        submitted(agent, prompt, edit(prompt, l15="Fifteen.")),
        submitted(agent, prompt, edit(prompt, l18="Eighteen.")),
    ]
    html = client_for(rita).get(f"/proposals/{first.pk}/").content.decode()
    a, b, c = (f"#{o.pk}" for o in others)
    assert f"Approving applies this patch and makes {a}, {b} and {c} stale" in html
    page = post_decision(client_for(rita), first, "approve").content.decode()
    assert f"{a}, {b} and {c} are now stale: their agents can rebase them." in page
    for other in others:
        other.refresh_from_db()
        assert other.status == "stale"


def test_a_stale_proposal_rebased_as_a_revision_carries_its_approval_and_applies_unreviewed(
    agent, prompt
):
    rita, rob = make_reviewer("rita"), make_reviewer("rob")
    first = submitted(agent, prompt, edit(prompt, l2="Two."))
    second = submitted(agent, prompt, edit(prompt, l15="Fifteen."))
    post_decision(client_for(rita), first, "approve")
    second.refresh_from_db()
    assert second.status == "stale"
    # An approval of the stale proposal is kept for the revision; it cannot apply as is.
    post_decision(client_for(rob), second, "approve")
    second.refresh_from_db()
    assert second.status == "stale"

    rebase = api_get(agent, f"/proposals/{second.pk}/rebase").json()
    assert rebase["same_change"] is True and rebase["base_version"] == 2
    revision = submitted(agent, prompt, rebase["patch"], revises=second.patch_hash)
    assert revision.status == "applied"
    carried = Event.objects.get(kind="ReviewCarriedOver")
    assert carried.actor == "system:audit_gate"
    assert carried.payload_value == {
        "patch_hash": revision.patch_hash,
        "from_patch_hash": second.patch_hash,
        "reviewers": ["rob"],
        "rule": "same_hunks",
        "proposal": revision.pk,
    }
    review = Review.objects.get(proposal=revision)
    assert (review.reviewer, review.carried_from) == (rob, second.patch_hash)
    detail = api_get(agent, f"/proposals/{revision.pk}").json()
    assert detail["reviews"][0]["carried_from"] == second.patch_hash
    assert detail["tests"] is not None and revision.test_run.patch_hash == revision.patch_hash
    html = client_for(rita).get(f"/proposals/{revision.pk}/").content.decode()
    assert "Approvals carried from revision 1 by rule <code>same_hunks</code>: rob." in html
    content = prompt.versions.get(version=3).content
    assert "Two.\n" in content and "Fifteen.\n" in content


def test_a_rebase_that_changes_the_result_drops_the_approval(agent, prompt):
    rita, rob = make_reviewer("rita"), make_reviewer("rob")
    first = submitted(agent, prompt, edit(prompt, l2="Two."))
    second = submitted(agent, prompt, edit(prompt, l15="Fifteen."))
    post_decision(client_for(rita), first, "approve")
    post_decision(client_for(rob), second, "approve")
    changed = edit(prompt, l15="Fifteen, changed.")
    revision = submitted(agent, prompt, changed, revises=second.patch_hash)
    assert revision.status == "in_review"
    assert not Event.objects.filter(kind="ReviewCarriedOver").exists()
    assert not Review.objects.filter(proposal=revision).exists()


def test_an_admin_withdraws_a_change_request_and_the_approved_proposal_applies(agent, prompt):
    rita, rob = make_reviewer("rita"), make_reviewer("rob")
    admin = make_reviewer("ada", admin=True)
    proposal = submitted(agent, prompt, edit(prompt, l3="Three."))
    post_decision(client_for(rita), proposal, "request_changes")
    post_decision(client_for(rob), proposal, "approve")
    proposal.refresh_from_db()
    assert proposal.status == "changes_requested"
    request = Review.objects.get(proposal=proposal, decision="request_changes")
    change_request_withdraw(review=request, admin=admin, reason="Rita is away; the text is fine.")
    proposal.refresh_from_db()
    assert proposal.status == "applied"
    event = Event.objects.get(kind="ChangeRequestWithdrawn")
    assert event.actor == "user:ada" and event.payload_value["reviewer"] == "rita"


def test_verify_log_replay_and_the_stand_alone_verifier_accept_a_history_with_revisions(
    agent, prompt, tmp_path
):
    import subprocess
    import sys
    from pathlib import Path

    from audit.checkpoints import checkpoint_sign
    from patches.signing import console_public_key, key_id_of
    from tests.audit.conftest import run_command

    rita, rob = make_reviewer("rita"), make_reviewer("rob")
    first = submitted(agent, prompt, edit(prompt, l2="Two."))
    second = submitted(agent, prompt, edit(prompt, l15="Fifteen."))
    third = submitted(agent, prompt, edit(prompt, l18="Eighteen."))
    post_decision(client_for(rita), third, "request_changes")
    post_decision(client_for(rita), first, "approve")
    post_decision(client_for(rob), second, "approve")
    rebase = api_get(agent, f"/proposals/{second.pk}/rebase").json()
    assert submitted(agent, prompt, rebase["patch"], revises=second.patch_hash).status == "applied"
    for command in ("verify_log", "replay"):
        code, out, err = run_command(command)
        assert code == 0, err
        assert out.startswith("OK")
    checkpoint_sign()
    code, _out, err = run_command("export_log", str(tmp_path / "bundle"))
    assert code == 0, err
    verifier = subprocess.run(
        [sys.executable, "-m", "audit.verifier", "--console-key",
         key_id_of(console_public_key()), str(tmp_path / "bundle")],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert verifier.returncode == 0, verifier.stderr
    assert "replayed 1 targets, 3 versions" in verifier.stdout


def test_an_admin_withdraws_a_request_on_the_page_and_a_reviewer_cannot(agent, prompt):
    rita, rob = make_reviewer("rita"), make_reviewer("rob")
    admin = make_reviewer("ada", admin=True)
    proposal = submitted(agent, prompt, edit(prompt, l3="Three."))
    post_decision(client_for(rita), proposal, "request_changes")
    request = Review.objects.get(proposal=proposal)
    url = f"/proposals/{proposal.pk}/requests/{request.pk}/withdraw/"
    assert 'data-testid="withdraw-request"' not in (
        client_for(rob).get(f"/proposals/{proposal.pk}/").content.decode()
    )
    before = counts()
    assert client_for(rob).post(url, {"reason": "No."}).status_code == 403
    assert counts() == before
    assert 'data-testid="withdraw-request"' in (
        client_for(admin).get(f"/proposals/{proposal.pk}/").content.decode()
    )
    page = client_for(admin).post(url, {"reason": "Rita is away."}, follow=True)
    assert "The change request of rita is withdrawn." in page.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == "in_review"
    request.refresh_from_db()
    assert request.withdrawn_by == admin


def test_a_json_comment_is_anchored_to_a_pointer_of_the_base_or_the_proposal(agent, db):
    from tests.factories import ROUTING

    router = make_target(name="router", patch_type="Routing", content=ROUTING)
    rita = make_reviewer("rita")
    patch = '[{"op": "replace", "path": "/routes/billing/weight", "value": 2.0}]'
    proposal = submitted(agent, router, patch, reasoning="Billing questions are missed today.")
    html = client_for(rita).get(f"/proposals/{proposal.pk}/").content.decode()
    assert 'data-pointer="/routes/billing/weight"' in html  # where the Comment control goes
    before = counts()
    refused = post_decision(
        client_for(rita), proposal, "request_changes",
        [{"anchor": {"pointer": "/routes/nowhere"}, "body": "?"}],
    )  # fmt: skip
    assert refused.status_code == 409 and "names no value" in refused.content.decode()
    assert counts() == before
    comment = {"anchor": {"pointer": "/routes/billing/weight"}, "body": "1.5 is enough."}
    post_decision(client_for(rita), proposal, "request_changes", [comment])
    assert api_get(agent, f"/proposals/{proposal.pk}").json()["reviews"][0]["comments"] == [comment]
