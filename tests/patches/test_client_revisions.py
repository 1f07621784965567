"""The agent client's revise and rebase (SDK and CLI) against the real API."""

from __future__ import annotations

import json

import pytest

from audit.gates import gates_run
from audit.reviews import review_record
from patches import client as agent_client
from patches.client.__main__ import main
from patches.models import Proposal
from tests.factories import make_reviewer, make_target
from tests.patches.test_client import registered  # noqa: F401  (the fixture)

LINES = "".join(f"Line {n} of the prompt.\n" for n in range(1, 21))


def _decide(proposal_id: int, username: str, decision: str = "approve") -> None:
    proposal = Proposal.objects.get(pk=proposal_id)
    review_record(
        proposal=proposal,
        reviewer=make_reviewer(username),
        decision=decision,
        reason="Checked.",
        patch_hash=proposal.patch_hash,
        base_content_hash=proposal.base_content_hash,
    )


def _propose(api, key, line: int, text: str) -> int:  # type: ignore[no-untyped-def]
    current, _ = api.target("helper")
    result = api.propose(
        private_key=key,
        target="helper",
        reasoning="Shorter lines read better on small screens.",
        new_content=current["content"].replace(f"Line {line} of the prompt.", text),
    )
    gates_run(proposal_id=result["id"])  # what the Celery worker does
    return int(result["id"])


def test_the_sdk_revises_a_proposal_that_a_reviewer_sent_back(registered):  # noqa: F811
    api, key_file, _ = registered
    make_target(name="helper", patch_type="Prompt", content=LINES)
    key = agent_client.load_private_key(key_file)
    first = _propose(api, key, 3, "Three, long.")
    _decide(first, "rita", "request_changes")
    state = api.proposal_status(first)
    assert state["status"] == "changes_requested" and state["reviews"][0]["reason"] == "Checked."
    current, _ = api.target("helper")
    revised = api.revise(
        first,
        private_key=key,
        reasoning="Shorter, as asked.",
        new_content=current["content"].replace("Line 3 of the prompt.", "Three."),
    )
    assert revised["change"] == first
    assert api.proposal_status(first)["status"] == "superseded"
    assert api.proposal_status(revised["id"])["revision"] == 2


def test_the_cli_rebases_a_stale_proposal_and_waits_for_it_to_apply(
    registered,  # noqa: F811
    capsys,
):
    api, key_file, _ = registered
    make_target(name="helper", patch_type="Prompt", content=LINES)
    key = agent_client.load_private_key(key_file)
    first = _propose(api, key, 2, "Two.")
    second = _propose(api, key, 15, "Fifteen.")
    _decide(second, "rob")  # applies the second, which makes the first stale
    assert Proposal.objects.get(pk=second).status == "applied"
    assert api.proposal_status(first)["stale"] == {"current_version": 2, "rebase": "clean"}
    _decide(first, "rita")  # kept for the revision

    assert main(["rebase", str(first), "--dry-run"], client=api) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["same_change"] is True and dry["base_version"] == 2
    assert Proposal.objects.count() == 2  # nothing submitted

    def run_gates(seconds: float) -> None:
        for proposal in Proposal.objects.filter(status="testing"):
            gates_run(proposal_id=proposal.pk)

    api.sleep = run_gates
    assert main(["rebase", str(first), "--key", str(key_file), "--wait"], client=api) == 0
    printed = capsys.readouterr().out
    assert '"status": "applied"' in printed
    revision = Proposal.objects.get(revises_id=first)
    assert revision.status == "applied" and revision.reviews.get().carried_from
    assert "Rebased proposal" in revision.reasoning


def test_the_cli_reports_a_rebase_conflict_as_a_problem(registered, capsys):  # noqa: F811
    api, key_file, _ = registered
    make_target(name="helper", patch_type="Prompt", content=LINES)
    key = agent_client.load_private_key(key_file)
    first = _propose(api, key, 5, "Five.")
    second = _propose(api, key, 6, "Six.")
    _decide(first, "rita")
    assert main(["rebase", str(second), "--key", str(key_file)], client=api) == 1
    captured = capsys.readouterr()
    assert "rebase-conflict" in captured.err
    assert json.loads(captured.out)["conflicts"][0]["where"].startswith("hunk 1")
    with pytest.raises(agent_client.ApiError):
        api.rebase(second)
