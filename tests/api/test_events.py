"""GET /api/v1/events: the chain as auditors page through it."""

from __future__ import annotations

from audit.verifier import event_hash
from patches.canonical import format_timestamp
from patches.models import Event
from tests.api.conftest import assert_problem
from tests.factories import make_agent, make_target


def test_an_auditor_reads_events_in_order_with_values_that_rehash(api, routing):
    other = make_agent("auditor-bot")
    other.agent.scopes = ["log:read"]  # every event; tests/api/test_events_scope.py: the rest
    other.agent.save()
    events = api.get("/events", persona=other).json()
    stored = list(Event.objects.order_by("seq"))
    assert [e["seq"] for e in events] == [e.seq for e in stored]
    for item, row in zip(events, stored, strict=True):
        assert item["created_at"] == format_timestamp(row.created_at)
        assert item["hash"] == event_hash(
            seq=item["seq"],
            kind=item["kind"],
            actor=item["actor"],
            payload=item["payload"],
            created_at=item["created_at"],
            prev_hash=item["prev_hash"],
        )
    assert isinstance(events[-1]["payload"], dict)


def test_it_pages_events_after_a_seq(api, db):
    api.persona.agent.scopes = ["log:read"]
    api.persona.agent.save()
    for index in range(5):
        make_target(name=f"t{index}")
    first = api.get("/events?limit=2").json()
    assert len(first) == 2
    rest = api.get(f"/events?after={first[-1]['seq']}&limit=1000").json()
    assert [e["seq"] for e in first + rest] == list(
        Event.objects.order_by("seq").values_list("seq", flat=True)
    )


def test_it_bounds_the_page_size(api, db):
    assert_problem(api.get("/events?limit=1001"), 422, "validation-error")
    assert_problem(api.get("/events?after=-1"), 422, "validation-error")
    assert_problem(api.get("/events?after=abc"), 422, "validation-error")
    assert_problem(api.client.get("/api/v1/events"), 401, "unauthorized")
