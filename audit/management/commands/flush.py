"""`flush`, letting a deliberate whole-database reset through the log's append-only triggers.

No row in the database unlocks a DELETE of the log (audit migration 0005). A reset, which is
also what the test suite's teardown runs, suspends the triggers with DDL instead: only the
tables' owner may do that, and it happens inside the flush's own transaction, so the triggers
are back in force when it commits and were never gone if it fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.commands.flush import Command as FlushCommand
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

APPEND_ONLY_TABLES = ("audit_event", "audit_checkpoint")


@contextmanager
def _triggers_suspended(connection: BaseDatabaseWrapper) -> Iterator[None]:
    tables = [t for t in APPEND_ONLY_TABLES if t in connection.introspection.table_names()]
    if not tables:  # not migrated yet: nothing to suspend
        yield
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            yield
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            return
        # SQLite cannot disable a trigger: drop each one and create it again from its own
        # definition, so the migrations stay the one place the triggers are written.
        triggers = []
        for table in tables:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [table],
            )
            triggers += cursor.fetchall()
        for name, _sql in triggers:
            cursor.execute(f'DROP TRIGGER "{name}"')
        yield
        for _name, sql in triggers:
            cursor.execute(sql)


class Command(FlushCommand):
    help = FlushCommand.help + " This includes the append-only audit log."

    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        with transaction.atomic(using=connection.alias), _triggers_suspended(connection):
            super().handle(**options)
