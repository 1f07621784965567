"""`flush`, letting a deliberate whole-database reset through the log's append-only triggers."""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as FlushCommand
from django.db import connections


class Command(FlushCommand):
    help = FlushCommand.help + " This includes the append-only audit log."

    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        # The triggers let DELETE/TRUNCATE through only while this permit row exists; it lives
        # in a table flush does not touch, and is removed again whatever happens.
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO audit_purge_permit (id) VALUES (1) ON CONFLICT DO NOTHING")
        try:
            super().handle(**options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM audit_purge_permit")
