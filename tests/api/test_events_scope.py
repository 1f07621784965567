"""GET /api/v1/events by scope: an auditor (log:read) reads every event; any other agent only the
events about its own proposals and keys, paged over what it may see, in a constant number of
queries."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.gates import gates_run
from patches.agents import agent_key_register, agent_key_revoke, agent_token_rotate
from patches.models import Agent, AgentScope, Event, Target
from patches.signing import raw_public_key
from tests.api.conftest import API, Api
from tests.factories import (
    ROUTING,
    AgentPersona,
    make_agent,
    make_target,
    proposal_body,
    signed_envelope,
    threshold_patch,
)

KEY_KINDS = ("AgentKeyRegistered", "AgentKeyRevoked")


@pytest.fixture
def smith(db: None) -> AgentPersona:
    return make_agent("smith")


@pytest.fixture
def jones(db: None) -> AgentPersona:
    return make_agent("jones")


@pytest.fixture
def auditor(db: None) -> AgentPersona:
    persona = make_agent("auditor-bot")
    Agent.objects.filter(pk=persona.agent.pk).update(scopes=[AgentScope.LOG_READ])
    return persona


def propose(persona: AgentPersona, target_name: str, value: float) -> int:
    target = Target.objects.get(name=target_name)
    body = proposal_body(target=target, patch=threshold_patch(value))
    response = Client().post(
        API + "/proposals",
        data=json.dumps(signed_envelope(persona, body)),
        content_type="application/json",
        **persona.auth,
    )
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def read(persona: AgentPersona, query: str = "limit=1000") -> list[dict]:
    response = Client().get(f"{API}/events?{query}", **persona.auth)
    assert response.status_code == 200, response.content
    return response.json()


def about(event: dict, persona: AgentPersona) -> bool:
    """Whether an event is about persona's proposals or keys, judged from the database."""
    row = Event.objects.select_related("proposal").get(seq=event["seq"])
    if row.proposal is not None:
        return row.proposal.agent_id == persona.agent.pk
    return (
        event["kind"] in KEY_KINDS
        and persona.agent.keys.filter(key_id=event["payload"]["key_id"]).exists()
    )


@pytest.fixture
def history(smith: AgentPersona, jones: AgentPersona, auditor: AgentPersona) -> dict[str, int]:
    """Interleaved events of both agents: proposals on two targets, a new key and a revoked one."""
    make_target(name="router", patch_type="Routing", content=ROUTING)
    make_target(name="router2", patch_type="Routing", content=ROUTING)
    ids = {
        "smith-1": propose(smith, "router", 2.0),
        "jones-1": propose(jones, "router", 3.0),
        "smith-2": propose(smith, "router2", 4.0),
    }
    spare = agent_key_register(
        agent=jones.agent,
        public_key=raw_public_key(Ed25519PrivateKey.generate().public_key()),
        actor="user:test",
    )
    agent_key_revoke(key=spare, actor="user:test")
    ids["jones-2"] = propose(jones, "router2", 5.0)
    for proposal_id in (ids["smith-1"], ids["jones-1"]):
        gates_run(proposal_id=proposal_id)  # the gates' events carry the proposal too
    return ids


def test_an_agent_reads_only_the_events_about_its_own_proposals_and_keys(
    smith, jones, auditor, history
):
    every = read(auditor)
    for persona, other in ((smith, jones), (jones, smith)):
        events = read(persona)
        assert [e for e in events if not about(e, persona)] == []  # no leak
        assert not any(about(e, other) for e in events)
        # ...and nothing of its own is missing.
        assert [e["seq"] for e in events] == [e["seq"] for e in every if about(e, persona)]
        kinds = {e["kind"] for e in events}
        assert {"AgentKeyRegistered", "PatchProposed", "TestGatePassed"} <= kinds
        assert ("AgentKeyRevoked" in kinds) == (persona is jones)


def test_an_agent_sees_its_key_events_and_none_of_another_agents(smith, jones, history):
    kinds = [(e["kind"], e["payload"]["agent"]) for e in read(jones) if e["kind"] in KEY_KINDS]
    assert kinds == [
        ("AgentKeyRegistered", "jones"),
        ("AgentKeyRegistered", "jones"),
        ("AgentKeyRevoked", "jones"),
    ]
    assert [e["payload"]["agent"] for e in read(smith) if e["kind"] in KEY_KINDS] == ["smith"]


def test_an_agent_does_not_read_target_or_other_log_events(smith, history):
    events = read(smith)
    assert "TargetCreated" not in {e["kind"] for e in events}
    assert all(about(e, smith) for e in events)


def test_an_auditor_with_log_read_reads_every_event(auditor, history):
    events = read(auditor)
    assert [e["seq"] for e in events] == list(
        Event.objects.order_by("seq").values_list("seq", flat=True)
    )


def test_paging_returns_the_next_n_events_the_agent_may_see(smith, history):
    visible = [e["seq"] for e in read(smith)]
    assert len(visible) >= 3
    paged: list[int] = []
    after = 0
    while True:
        page = read(smith, f"after={after}&limit=2")
        assert len(page) <= 2
        if not page:
            break
        paged += [e["seq"] for e in page]
        after = page[-1]["seq"]
    assert paged == visible
    # A page after an event of another agent starts at the next visible one.
    jones_seq = Event.objects.filter(proposal_id=history["jones-1"]).values_list("seq", flat=True)[
        0
    ]
    assert [e["seq"] for e in read(smith, f"after={jones_seq}&limit=1")] == [
        next(seq for seq in visible if seq > jones_seq)
    ]


def test_reading_events_costs_the_same_queries_however_many_proposals_and_keys(
    smith, jones, history
):
    def queries(persona: AgentPersona) -> int:
        with CaptureQueriesContext(connection) as captured:
            read(persona)
        return len(captured)

    few = queries(make_agent("newcomer"))
    assert queries(smith) == few
    assert queries(jones) == few  # two keys, one revoked


def test_rotating_the_token_keeps_the_auditor_scope(auditor, history):
    token = agent_token_rotate(agent=auditor.agent)
    rotated = AgentPersona(agent=auditor.agent, token=token, private_key=auditor.private_key)
    assert len(read(rotated)) == Event.objects.count()


def test_agent_create_auditor_gives_the_token_log_read(smith, history, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = StringIO()
    call_command("agent_create", "auditor-two", "--auditor", stdout=out)
    created = json.loads(out.getvalue())
    assert Agent.objects.get(name="auditor-two").scopes == ["log:read"]
    response = Client().get(
        f"{API}/events?limit=1000", HTTP_AUTHORIZATION=f"Bearer {created['token']}"
    )
    assert [e["seq"] for e in response.json()] == list(
        Event.objects.order_by("seq").values_list("seq", flat=True)
    )


def test_agent_create_without_auditor_reads_only_its_own_events(history, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = StringIO()
    call_command("agent_create", "plain", stdout=out)
    created = json.loads(out.getvalue())
    assert Agent.objects.get(name="plain").scopes == []
    response = Client().get(
        f"{API}/events?limit=1000", HTTP_AUTHORIZATION=f"Bearer {created['token']}"
    )
    assert [(e["kind"], e["payload"]["agent"]) for e in response.json()] == [
        ("AgentKeyRegistered", "plain")
    ]


def test_the_api_fixture_agent_is_not_an_auditor(api: Api, history):
    assert all(about(e, api.persona) for e in api.get("/events?limit=1000").json())
