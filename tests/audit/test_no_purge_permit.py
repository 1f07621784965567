"""A migrated database has no row whose insert unlocks deleting the log (issue: hardening, 6)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit.checkpoints import checkpoint_sign
from patches.log import event_append
from patches.models import Event

# The permit of the earlier migration, and a table of that name an intruder could create again.
PERMIT_ROWS = [
    "INSERT INTO audit_purge_permit (id) VALUES (1)",
    "CREATE TABLE IF NOT EXISTS audit_purge_permit (id integer PRIMARY KEY)",
    "INSERT INTO audit_purge_permit (id) VALUES (1)",
]


@pytest.fixture
def logged(db: None) -> None:
    event_append(kind="Thing", actor="user:test", payload={"n": 1})
    event_append(kind="Thing", actor="user:test", payload={"n": 2})
    checkpoint_sign()


def _try(statement: str) -> None:
    # A savepoint each: on PostgreSQL a failed statement would abort the whole test transaction.
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    except DatabaseError:
        pass


def test_the_migrated_database_has_no_purge_permit_table(db):
    assert "audit_purge_permit" not in connection.introspection.table_names()


@pytest.mark.parametrize("delete", ["DELETE FROM audit_event", "DELETE FROM audit_checkpoint"])
def test_inserting_a_permit_row_does_not_let_a_delete_through(logged, delete):
    for statement in PERMIT_ROWS:
        _try(statement)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(delete)
    assert Event.objects.count() == 3


@pytest.mark.postgres
def test_inserting_a_permit_row_does_not_let_a_truncate_through(logged):
    for statement in PERMIT_ROWS:
        _try(statement)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE audit_event")
    assert Event.objects.count() == 3
