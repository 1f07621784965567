"""With the migration's triggers in place, the log cannot be changed through the database."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit.checkpoints import checkpoint_sign
from audit.models import Checkpoint
from patches.log import event_append
from patches.models import Event

STATEMENTS = [
    "UPDATE audit_event SET actor = 'user:mallory' WHERE seq = 1",
    "UPDATE audit_event SET payload = '{}'",
    "DELETE FROM audit_event WHERE seq = 2",
    "DELETE FROM audit_event",
    "UPDATE audit_checkpoint SET head = 'sha256:x'",
    "DELETE FROM audit_checkpoint",
]


@pytest.fixture
def logged(db: None) -> None:
    event_append(kind="Thing", actor="user:test", payload={"n": 1})
    event_append(kind="Thing", actor="user:test", payload={"n": 2})
    checkpoint_sign()


@pytest.mark.parametrize("statement", STATEMENTS)
def test_raw_updates_and_deletes_are_refused(logged: None, statement: str) -> None:
    before = list(Event.objects.values_list("seq", "actor", "payload", "hash"))
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert list(Event.objects.values_list("seq", "actor", "payload", "hash")) == before
    assert Checkpoint.objects.count() == 1


def test_the_orm_cannot_edit_or_delete_events_either(logged: None) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Event.objects.filter(seq=1).update(kind="Forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Event.objects.all().delete()
    assert Event.objects.count() == 3


def test_appending_still_works(logged: None) -> None:
    event = event_append(kind="Thing", actor="user:test", payload={"n": 3})
    assert event.seq == 4


@pytest.mark.postgres
def test_truncate_is_refused_on_postgresql(logged: None) -> None:
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE audit_event")
    assert Event.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_deliberate_flush_resets_the_log_and_the_triggers_stay_in_force() -> None:
    event_append(kind="Thing", actor="user:test", payload={"n": 1})
    call_command("flush", interactive=False, verbosity=0)
    assert Event.objects.count() == 0
    event_append(kind="Thing", actor="user:test", payload={"n": 1})
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Event.objects.all().delete()
