"""audit_chain_head_locked(): the chain lock, then the log's head as it is once the lock is held.

PostgreSQL only (SQLite serializes writers by itself). A VOLATILE function takes a fresh
snapshot for each query it runs, so the head it returns includes every event committed before
the lock was granted, even when it is called inside a statement that started earlier. That lets
one statement take the lock, read the head and append an event after it (audit.log.ChainWriter),
with no round trip between them. The lock is the one chain_lock() takes.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION audit_chain_head_locked(lock_key bigint, genesis varchar)
RETURNS TABLE (seq bigint, hash varchar) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    RETURN QUERY SELECT e.seq, e.hash FROM audit_event e ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 0::bigint, genesis;
    END IF;
END $$
"""
BACKWARD = "DROP FUNCTION IF EXISTS audit_chain_head_locked(bigint, varchar)"


def forward(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_event_append_only")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
