"""Append-only audit tables: UPDATE and DELETE on audit_event and audit_checkpoint raise.

Enforced by the database, not the ORM, so raw SQL through the app's connection is refused too.
The one exception is a deliberate whole-database reset (`manage.py flush`, also what test
teardown runs), which first puts a row in audit_purge_permit (see audit's flush command).
"""

from django.db import migrations

TABLES = ("audit_event", "audit_checkpoint")

SQLITE_FORWARD = ["CREATE TABLE audit_purge_permit (id INTEGER PRIMARY KEY)"]
for _table in TABLES:
    SQLITE_FORWARD += [
        f"""CREATE TRIGGER {_table}_no_update BEFORE UPDATE ON {_table}
        BEGIN SELECT RAISE(ABORT, '{_table} is append-only: UPDATE refused'); END""",
        f"""CREATE TRIGGER {_table}_no_delete BEFORE DELETE ON {_table}
        WHEN NOT EXISTS (SELECT 1 FROM audit_purge_permit)
        BEGIN SELECT RAISE(ABORT, '{_table} is append-only: DELETE refused'); END""",  # noqa: S608
    ]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {table}_{what}"
    for table in TABLES
    for what in ("no_update", "no_delete")
] + ["DROP TABLE IF EXISTS audit_purge_permit"]

POSTGRES_FORWARD = [
    "CREATE TABLE audit_purge_permit (id integer PRIMARY KEY)",
    """CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'TRUNCATE') AND EXISTS (SELECT 1 FROM audit_purge_permit) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'raise_exception';
    END $$""",
]
for _table in TABLES:
    POSTGRES_FORWARD += [
        f"""CREATE TRIGGER {_table}_append_only BEFORE UPDATE OR DELETE ON {_table}
        FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()""",
        f"""CREATE TRIGGER {_table}_no_truncate BEFORE TRUNCATE ON {_table}
        FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()""",
    ]
POSTGRES_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {table}_{what} ON {table}"
    for table in TABLES
    for what in ("append_only", "no_truncate")
] + ["DROP FUNCTION IF EXISTS audit_refuse_change()", "DROP TABLE IF EXISTS audit_purge_permit"]

STATEMENTS = {
    "sqlite": (SQLITE_FORWARD, SQLITE_BACKWARD),
    "postgresql": (POSTGRES_FORWARD, POSTGRES_BACKWARD),
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
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
