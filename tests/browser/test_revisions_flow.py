"""Acceptance in a real browser (docs/revisions.md): a reviewer requests changes with two line
comments, the agent reads them over HTTP and revises, the reviewer reads the interdiff and
approves, and the revision applies."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from patches.client import AgentClient
from patches.models import Proposal
from tests.browser.conftest import Watched, login, screenshot
from tests.factories import make_agent, make_reviewer, make_target

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LINES = "".join(f"Line {n} of the prompt.\n" for n in range(1, 21))
REASONING = "Shorter lines read better on small screens."


def test_request_changes_with_comments_then_a_revision_is_approved_after_its_interdiff(
    live_server, desktop: Watched
):
    page, url = desktop.page, live_server.url
    make_target(name="helper", patch_type="Prompt", content=LINES)
    make_reviewer("rita")
    persona = make_agent("writer")
    agent = AgentClient(url=url, token=persona.token)
    first = agent.propose(
        private_key=persona.private_key,
        target="helper",
        reasoning=REASONING,
        new_content=LINES.replace("Line 3 of the prompt.", "Line three, long and winding."),
    )  # the gates run inline (eager Celery in the test process)

    login(page, url, "rita")
    page.goto(f"{url}/proposals/{first['id']}/")
    expect(page.get_by_test_id("proposal-status")).to_have_text("In Review")
    diff = page.get_by_test_id("diff")
    diff.locator(".dr-insert").get_by_role("button", name="Comment").click()
    page.get_by_label("Comment on new line 3").fill("One clause is enough.")
    diff.locator(".dr-delete").get_by_role("button", name="Comment").click()
    page.get_by_label("Comment on old line 3").fill("Keep the word 'prompt'.")
    page.get_by_label("Reason").fill("Close, but too wordy.")
    screenshot(page, "request-changes-drafts-1280")
    page.get_by_role("button", name="Request changes").click()
    expect(page.locator(".message-success")).to_contain_text("Requested changes on")
    expect(page.get_by_test_id("proposal-status")).to_have_text("Changes Requested")
    expect(page.get_by_test_id("review-comments")).to_contain_text("One clause is enough.")

    # The agent reads the comments through the API and signs a revision.
    state = agent.proposal_status(first["id"])
    assert state["status"] == "changes_requested"
    assert state["reviews"][0]["comments"] == [
        {"anchor": {"side": "new", "line": 3}, "body": "One clause is enough."},
        {"anchor": {"side": "old", "line": 3}, "body": "Keep the word 'prompt'."},
    ]
    revision = agent.revise(
        first["id"],
        private_key=persona.private_key,
        reasoning=REASONING + " Shortened as asked.",
        new_content=LINES.replace("Line 3 of the prompt.", "Line 3 of the prompt, short."),
    )
    assert revision["change"] == first["id"]

    page.goto(f"{url}/proposals/{revision['id']}/")
    expect(page.get_by_test_id("revisions")).to_contain_text("Revision 1")
    expect(page.get_by_test_id("revisions")).to_contain_text("Revision 2")
    page.get_by_test_id("interdiff-link").click()
    page.wait_for_url(f"{url}/proposals/{revision['id']}/interdiff/1..2/")
    interdiff = page.get_by_test_id("diff")
    expect(interdiff.locator(".dr-delete")).to_contain_text("Line three, long and winding.")
    expect(interdiff.locator(".dr-insert")).to_contain_text("Line 3 of the prompt, short.")
    screenshot(page, "interdiff-1280")
    page.get_by_role("link", name=f"#{revision['id']}").first.click()
    page.get_by_label("Reason").fill("Short and keeps the wording.")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".message-success")).to_contain_text("applied as v2")
    assert agent.proposal_status(revision["id"])["status"] == "applied"
    assert agent.proposal_status(first["id"])["status"] == "superseded"
    assert Proposal.objects.get(pk=revision["id"]).revision == 2
    assert desktop.dialogs == [] and desktop.csp_violations() == []
