"""An admin revokes a key and rotates a token in the browser, confirming each in a prompt."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from patches.agents import agent_for_token
from patches.models import AgentKey
from tests.browser.conftest import login, screenshot, watch
from tests.factories import make_agent, make_reviewer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_revokes_a_key_and_rotates_a_token_after_confirming(live_server, browser):
    make_reviewer("alice", admin=True)
    persona = make_agent("agent-smith")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watched = watch(context.new_page(), accept_dialogs=True)
    page = watched.page
    login(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/agents/")
    card = page.get_by_test_id("agent-agent-smith")
    expect(card).to_contain_text(persona.key_id)

    card.get_by_role("button", name="Revoke").click()
    expect(page.locator(".message-success")).to_contain_text("Revoked key")
    expect(page.get_by_test_id("agent-agent-smith")).to_contain_text("revoked")
    assert AgentKey.objects.get(key_id=persona.key_id).revoked_at is not None

    page.get_by_test_id("agent-agent-smith").get_by_role("button", name="Rotate token").click()
    token = page.get_by_test_id("new-token").locator("pre").inner_text().strip()
    assert agent_for_token(token) == persona.agent and agent_for_token(persona.token) is None
    screenshot(page, "agents-1280")
    prompts = watched.dialogs
    assert len(prompts) == 2 and "Revoke key" in prompts[0] and "Rotate the API token" in prompts[1]
    assert watched.csp_violations() == []
    context.close()
