"""The append-only triggers refuse every DELETE: the purge permit table of 0002 goes.

0002 let DELETE and TRUNCATE through while audit_purge_permit held a row, for `manage.py
flush`; but any connection that may INSERT could write that row, and the table could be made
again by anyone allowed to create one. No row now unlocks the log: audit's flush command
suspends the triggers with DDL inside its own transaction instead (see its module).
"""

from django.db import migrations

TABLES = ("audit_event", "audit_checkpoint")


def _sqlite_no_delete(table: str, *, permit: bool) -> list[str]:
    when = "WHEN NOT EXISTS (SELECT 1 FROM audit_purge_permit)" if permit else ""
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_delete",
        f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} {when}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END""",
    ]


def _postgres_function(*, permit: bool) -> str:
    let_through = (
        """IF TG_OP IN ('DELETE', 'TRUNCATE') AND EXISTS (SELECT 1 FROM audit_purge_permit) THEN
            RETURN OLD;
        END IF;"""
        if permit
        else ""
    )
    # The triggers of 0002 (row-level UPDATE/DELETE, statement-level TRUNCATE) call this one
    # function, so replacing it changes all of them.
    return f"""CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        {let_through}
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'raise_exception';
    END $$"""


STATEMENTS = {
    "sqlite": (
        [s for table in TABLES for s in _sqlite_no_delete(table, permit=False)]
        + ["DROP TABLE IF EXISTS audit_purge_permit"],
        ["CREATE TABLE audit_purge_permit (id INTEGER PRIMARY KEY)"]
        + [s for table in TABLES for s in _sqlite_no_delete(table, permit=True)],
    ),
    "postgresql": (
        [_postgres_function(permit=False), "DROP TABLE IF EXISTS audit_purge_permit"],
        [
            "CREATE TABLE audit_purge_permit (id integer PRIMARY KEY)",
            _postgres_function(permit=True),
        ],
    ),
}


def _run(schema_editor, which: int) -> None:  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor not in STATEMENTS:
        raise RuntimeError(f"no append-only triggers for the {vendor} backend")
    for statement in STATEMENTS[vendor][which]:
        schema_editor.execute(statement, params=None)


def forward(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    _run(schema_editor, 0)


def backward(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    # Back to 0002's permit, so that migrating below this one leaves the schema 0002 made.
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_event_to_patches")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
