"""Django admin: a target's offered tests and an agent's scopes are edited there, and logged."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.test import Client
from django.urls import reverse

from patches.models import Agent, Event, Target, TestDefinition
from tests.admin.conftest import World
from tests.factories import make_test


def url(model: type[Model], action: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def target_form(world: World, **changes: Any) -> dict[str, Any]:
    return {
        "description": "",
        "schema": "null",
        "audit_rules": "{}",
        "required_approvals": "1",
        "mandatory_tests": [TestDefinition.objects.get(name="billing-cases").pk],
        "offered_tests": [],
        "versions-TOTAL_FORMS": "1",
        "versions-INITIAL_FORMS": "1",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
        **changes,
    }


def test_an_admin_offers_a_test_on_the_target_page_and_the_change_is_logged(
    admin_client: Client, world: World
) -> None:
    offered = make_test("refund-cases", "routing_cases", {"cases": []}, patch_types=["Routing"])
    page = admin_client.get(url(Target, "change", world.target.pk)).content.decode()
    assert 'name="offered_tests"' in page
    response = admin_client.post(
        url(Target, "change", world.target.pk), target_form(world, offered_tests=[offered.pk])
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(world.target.offered_tests.all()) == [offered]
    changed = Event.objects.get(kind="TargetSettingsChanged")
    assert changed.actor == "user:ada"
    assert changed.payload_value["changes"] == {
        "offered_tests": {"from": [], "to": ["refund-cases"]}
    }


def test_an_admin_cannot_offer_a_test_of_another_patch_type(
    admin_client: Client, world: World
) -> None:
    prompt_only = make_test("prompt-only", "placeholders", patch_types=["Prompt"])
    response = admin_client.post(
        url(Target, "change", world.target.pk), target_form(world, offered_tests=[prompt_only.pk])
    )
    assert response.status_code == 200
    assert "prompt-only do not apply to Routing targets" in response.content.decode()
    assert not world.target.offered_tests.exists()
    assert not Event.objects.filter(kind="TargetSettingsChanged").exists()


def test_a_test_a_target_offers_cannot_be_deleted(admin_client: Client, world: World) -> None:
    offered = make_test("offered-only", "routing_cases", {"cases": []})
    world.target.offered_tests.add(offered)
    response = admin_client.post(url(TestDefinition, "delete", offered.pk), {"post": "yes"})
    assert response.status_code == 403
    assert TestDefinition.objects.filter(pk=offered.pk).exists()


def agent_form(agent: Agent, **changes: Any) -> dict[str, Any]:
    return {"description": agent.description, "is_active": "on", "scopes": [], **changes}


def test_an_admin_grants_log_read_and_the_grant_is_logged(
    admin_client: Client, world: World
) -> None:
    agent = world.persona.agent
    page = admin_client.get(url(Agent, "change", agent.pk)).content.decode()
    assert 'value="log:read"' in page
    response = admin_client.post(
        url(Agent, "change", agent.pk), agent_form(agent, scopes=["log:read"])
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    agent.refresh_from_db()
    assert agent.scopes == ["log:read"]
    granted = Event.objects.get(kind="AgentScopesChanged")
    assert (granted.actor, granted.payload_value) == (
        "user:ada",
        {"agent": "router-agent", "from": [], "to": ["log:read"]},
    )
    every = Client().get("/api/v1/events?limit=1000", **world.persona.auth).json()
    assert len(every) == Event.objects.count()

    # Saving again unchanged writes nothing; taking the scope away is logged too.
    admin_client.post(url(Agent, "change", agent.pk), agent_form(agent, scopes=["log:read"]))
    assert Event.objects.filter(kind="AgentScopesChanged").count() == 1
    admin_client.post(url(Agent, "change", agent.pk), agent_form(agent))
    agent.refresh_from_db()
    assert agent.scopes == []
    revoked = Event.objects.filter(kind="AgentScopesChanged").order_by("-seq").first()
    assert revoked is not None
    assert revoked.payload_value == {"agent": "router-agent", "from": ["log:read"], "to": []}


def test_an_unknown_scope_is_refused(admin_client: Client, world: World) -> None:
    agent = world.persona.agent
    response = admin_client.post(
        url(Agent, "change", agent.pk), agent_form(agent, scopes=["log:write"])
    )
    assert response.status_code == 200
    agent.refresh_from_db()
    assert agent.scopes == []
    assert not Event.objects.filter(kind="AgentScopesChanged").exists()
