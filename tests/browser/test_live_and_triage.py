"""A reviewer's day: the inbox updates itself, approve & next, keyboard-only review, reverts."""

from __future__ import annotations

import json

import pytest
import requests
from playwright.sync_api import Response, expect

from patches.models import Proposal
from tests.browser.conftest import PASSWORD, Watched, login, screenshot
from tests.console.conftest import in_review, prompt_patch
from tests.factories import (
    PROMPT,
    make_agent,
    make_reviewer,
    make_target,
    proposal_body,
    signed_envelope,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_proposal_submitted_through_the_api_appears_in_an_open_inbox_within_5_s(
    live_server, desktop: Watched
):
    page, url = desktop.page, live_server.url
    make_reviewer("rita")
    agent = make_agent("agent-smith")
    target = make_target("system_prompt", "Prompt", PROMPT)
    polls: list[int] = []

    def on_response(response: Response) -> None:
        if response.request.headers.get("hx-request") and response.url.startswith(f"{url}/"):
            polls.append(response.status)

    page.on("response", on_response)
    login(page, url, "rita")
    expect(page.get_by_test_id("inbox-summary")).to_contain_text("0 proposals awaiting")
    page.evaluate("window.__notReloaded = true")
    page.wait_for_timeout(3500)  # one quiet poll
    assert 304 in polls, polls  # a quiet inbox costs a 304

    body = signed_envelope(agent, proposal_body(target=target, patch=prompt_patch(target),
                                                reasoning="Answer briefly.\nPhones."))  # fmt: skip
    response = requests.post(
        f"{url}/api/v1/proposals",
        data=json.dumps(body),
        headers={"Authorization": f"Bearer {agent.token}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    proposal_id = response.json()["id"]
    row = page.get_by_test_id(f"inbox-row-{proposal_id}")
    expect(row).to_be_visible(timeout=5_000)
    expect(row.get_by_test_id("summary")).to_have_text("Answer briefly.")
    expect(page.locator("#awaiting-count")).to_have_text("1")
    assert page.evaluate("window.__notReloaded") is True
    assert desktop.dialogs == [] and desktop.csp_violations() == []


def test_approve_and_next_moves_to_the_next_waiting_proposal(live_server, desktop: Watched):
    page, url = desktop.page, live_server.url
    make_reviewer("rita")
    agent = make_agent("agent-smith")
    target = make_target("system_prompt", "Prompt", PROMPT, required_approvals=2)
    first, second, third = (
        in_review(agent, target, patch=prompt_patch(target, f"Answer in style {i}.\n"))
        for i in range(3)
    )
    login(page, url, "rita")
    page.goto(f"{url}/proposals/{first.pk}/")
    page.get_by_label("Reason").fill("Fine.")
    page.get_by_role("button", name="Approve & next").click()
    page.wait_for_url(f"{url}/proposals/{second.pk}/")
    expect(page.locator(".message-success")).to_contain_text(f"Approved #{first.pk}")
    page.get_by_label("Reason").fill("Too casual.")
    page.get_by_role("button", name="Reject & next").click()
    page.wait_for_url(f"{url}/proposals/{third.pk}/")
    expect(page.locator(".message-success")).to_contain_text(f"Rejected #{second.pk}.")
    assert [r.decision for r in Proposal.objects.get(pk=second.pk).reviews.all()] == ["reject"]
    assert desktop.dialogs == [] and desktop.csp_violations() == []


def test_a_whole_review_works_from_the_keyboard_alone(live_server, desktop: Watched):
    page, url = desktop.page, live_server.url
    make_reviewer("rita")
    agent = make_agent("agent-smith")
    target = make_target("system_prompt", "Prompt", PROMPT, required_approvals=2)
    first, second = (
        in_review(agent, target, patch=prompt_patch(target, f"Answer in style {i}.\n"))
        for i in range(2)
    )
    page.goto(f"{url}/accounts/login/")
    page.keyboard.type("rita")  # the username field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/")
    page.keyboard.press("?")
    dialog = page.locator("dialog#shortcuts")
    expect(dialog).to_be_visible()
    for key in ("n", "p", "r", "a", "x", "u"):
        expect(dialog.locator("kbd", has_text=key).first).to_be_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/proposals/{first.pk}/")
    page.keyboard.press("u")
    expect(page.get_by_test_id("diff")).to_have_attribute("data-mode", "split")
    page.keyboard.press("u")
    expect(page.get_by_test_id("diff")).to_have_attribute("data-mode", "unified")
    page.keyboard.press("n")
    page.wait_for_url(f"{url}/proposals/{second.pk}/")
    page.keyboard.press("p")
    page.wait_for_url(f"{url}/proposals/{first.pk}/")
    page.keyboard.press("r")
    expect(page.get_by_label("Reason")).to_be_focused()
    page.keyboard.type("Keeps every placeholder.")
    page.keyboard.press("Escape")
    page.keyboard.press("Shift+A")  # approve & next
    page.wait_for_url(f"{url}/proposals/{second.pk}/")
    page.keyboard.press("r")
    page.keyboard.type("Drops the politeness rule.")
    page.keyboard.press("Escape")
    page.keyboard.press("x")  # reject, stay
    expect(page.get_by_test_id("proposal-reason")).to_have_text(
        "Rejected by rita: Drops the politeness rule."
    )
    assert first.reviews.get().decision == "approve"
    assert desktop.dialogs == [] and desktop.csp_violations() == []


def test_a_revert_asks_for_a_reason_shows_it_and_its_requester_may_withdraw_it(
    live_server, browser, settings, tmp_path
):
    from tests.browser.conftest import DESKTOP, watch
    from tests.browser.world import demo_world

    demo_world(settings, tmp_path)
    context = browser.new_context(viewport=DESKTOP)
    watched = watch(context.new_page(), accept_dialogs=True)
    page, url = watched.page, live_server.url
    login(page, url, "reviewer")
    page.goto(f"{url}/targets/system_prompt/")
    expect(page.get_by_test_id("revert-1")).to_have_count(0)  # the genesis: nothing to revert
    page.get_by_test_id("revert-3").click()
    reason = page.get_by_label("Why restore v2?")
    expect(reason).to_be_visible()
    page.get_by_test_id("revert-submit-3").click()  # empty: the browser asks for the reason
    assert "/targets/system_prompt/" in page.url
    reason.fill("The greeting used the wrong name for guests.")
    page.get_by_test_id("revert-submit-3").click()
    expect(page.get_by_test_id("reasoning-line")).to_have_text(
        "Restore v2 of system_prompt: The greeting used the wrong name for guests."
    )
    expect(page.get_by_test_id("refusal")).to_contain_text("You proposed this patch")
    screenshot(page, "revert-1280")
    page.goto(f"{url}/targets/system_prompt/")
    expect(page.get_by_test_id("revert-blocked-3")).to_contain_text("a revert is open")
    revert = Proposal.objects.get(reverts__version=3)
    page.goto(f"{url}/proposals/{revert.pk}/")
    page.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_test_id("proposal-status")).to_have_text("Withdrawn")
    assert watched.dialogs == [f"confirm: Withdraw revert #{revert.pk}?"]
    assert watched.csp_violations() == []
    context.close()


def test_an_open_proposal_shows_another_reviewers_decision_without_a_reload(
    live_server, desktop: Watched
):
    from audit.reviews import review_record

    page, url = desktop.page, live_server.url
    make_reviewer("rita")
    rob = make_reviewer("rob")
    target = make_target("system_prompt", "Prompt", PROMPT)
    proposal = in_review(make_agent("agent-smith"), target)
    login(page, url, "rita")
    page.goto(f"{url}/proposals/{proposal.pk}/")
    page.evaluate("window.__notReloaded = true")
    review_record(proposal=proposal, reviewer=rob, decision="reject", reason="Too blunt.",
                  patch_hash=proposal.patch_hash, base_content_hash=proposal.base_content_hash)  # fmt: skip
    expect(page.get_by_test_id("proposal-reason")).to_have_text(
        "Rejected by rob: Too blunt.", timeout=5_000
    )
    expect(page.get_by_test_id("refusal")).to_contain_text("only proposals in review")
    assert page.evaluate("window.__notReloaded") is True
    assert desktop.dialogs == [] and desktop.csp_violations() == []
