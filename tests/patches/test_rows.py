"""patches.rows: the submit path's lean SQL builds and stores exactly what the ORM would."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from django.db import connection

from patches import rows
from patches.models import Agent, AgentKey, Target, TestRun
from patches.submit import proposal_submit
from tests.factories import ROUTING, make_agent, make_target, proposal_body, signed_envelope


@pytest.fixture
def target(db: None) -> Target:
    return make_target(
        name="router", patch_type="Routing", content=ROUTING, schema={"type": "object"}
    )


def _select(model: type, names: tuple[str, ...], pk: int) -> tuple:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rows.columns(model, names, 'x')} FROM {table} x WHERE x.id = %s",  # noqa: S608
            [pk],
        )
        return cursor.fetchone()


def test_an_instance_has_the_values_and_types_the_orm_reads(target):
    names = ("id", "name", "schema", "required_approvals", "created_at")
    built = rows.instance(Target, names, _select(Target, names, target.pk))
    read = Target.objects.get(pk=target.pk)
    for name in names:
        assert getattr(built, name) == getattr(read, name)
    assert isinstance(built.created_at, datetime) and built.created_at.tzinfo is not None
    assert built.schema == {"type": "object"}  # JSON comes back parsed, on both backends


def test_an_instance_converts_booleans_and_loads_deferred_fields_on_demand(db):
    persona = make_agent("smith")
    built = rows.instance(
        Agent, ("id", "is_console"), _select(Agent, ("id", "is_console"), persona.agent.pk)
    )
    assert built.is_console is False
    assert built.name == "smith"  # deferred: read from the database when asked for


def test_an_insert_stores_the_row_save_would_and_sets_the_primary_key(db):
    persona = make_agent("smith")
    key = AgentKey(agent=persona.agent, key_id="ab" * 32, public_key="cd" * 32)
    rows.insert(key)
    assert key.pk is not None and not key._state.adding
    stored = AgentKey.objects.get(pk=key.pk)
    assert (stored.agent_id, stored.key_id, stored.public_key) == (
        persona.agent.pk,
        "ab" * 32,
        "cd" * 32,
    )
    assert stored.created_at == key.created_at  # auto_now_add filled in, as save() does
    assert stored.revoked_at is None


def test_an_insert_applies_field_defaults(target):
    persona = make_agent("smith")
    patch = json.dumps([{"op": "replace", "path": "/threshold", "value": 2}])
    body = json.dumps(signed_envelope(persona, proposal_body(target=target, patch=patch)))
    proposal = proposal_submit(agent=persona.agent, body=body)  # inserts its TestRun with rows
    run = TestRun.objects.get(proposal=proposal)
    assert (run.status, run.attempts, run.claimed_by, run.started_at) == ("queued", 0, "", None)


def test_a_column_list_refuses_a_relation_without_a_column():
    with pytest.raises(ValueError, match="not a column"):
        rows.columns(Target, ("mandatory_tests",), "t")
