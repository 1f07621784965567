"""The agents page (admins only): keys with fingerprints, revocation, token rotation."""

from __future__ import annotations

from patches.agents import agent_for_token
from patches.models import AgentKey, Event
from tests.console.conftest import client_for


def test_admins_see_agents_and_key_fingerprints(agent, alice):
    html = client_for(alice).get("/agents/").content.decode()
    assert 'data-testid="agent-agent-smith"' in html
    assert agent.key_id in html


def test_reviewers_may_not_revoke_or_rotate(agent, rita):
    client = client_for(rita)
    assert client.post(f"/agents/keys/{agent.key_id}/revoke/").status_code == 403
    assert client.post("/agents/agent-smith/token/").status_code == 403
    assert AgentKey.objects.get(key_id=agent.key_id).revoked_at is None


def test_staff_who_are_not_superusers_are_not_admins_here(agent, rita):
    rita.is_staff = True
    rita.save()
    client = client_for(rita)
    assert client.get("/agents/").status_code == 403
    assert client.post(f"/agents/keys/{agent.key_id}/revoke/").status_code == 403
    assert AgentKey.objects.get(key_id=agent.key_id).revoked_at is None


def test_revoking_a_key_records_it_and_logs_the_event(agent, alice):
    response = client_for(alice).post(f"/agents/keys/{agent.key_id}/revoke/")
    assert response.status_code == 302
    assert AgentKey.objects.get(key_id=agent.key_id).revoked_at is not None
    event = Event.objects.get(kind="AgentKeyRevoked")
    assert event.actor == "user:alice"


def test_rotating_the_token_shows_the_new_one_once_and_retires_the_old(agent, alice):
    client = client_for(alice)
    response = client.post("/agents/agent-smith/token/")
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert 'data-testid="new-token"' in html
    token = html.split('<pre class="output" tabindex="0">', 1)[1].split("</pre>", 1)[0]
    assert agent_for_token(token) == agent.agent
    assert agent_for_token(agent.token) is None
    assert 'data-testid="new-token"' not in client.get("/agents/").content.decode()


def test_revoke_and_rotate_need_a_post(agent, alice):
    client = client_for(alice)
    assert client.get(f"/agents/keys/{agent.key_id}/revoke/").status_code == 405
    assert client.get("/agents/agent-smith/token/").status_code == 405
