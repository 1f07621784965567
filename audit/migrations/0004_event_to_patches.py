"""The event log moves to the domain app (patches.Event); its table, audit_event, stays as it is.

The model leaves audit's migration state only (patches 0003 takes it up); no row or column
changes. The PostgreSQL function of the former one-statement submit goes.
"""

from django.db import migrations

DROP_HEAD_FUNCTION = "DROP FUNCTION IF EXISTS audit_chain_head_locked(bigint, varchar)"


def drop_head_function(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_HEAD_FUNCTION, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_chain_head_locked")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Event")], database_operations=[]
        ),
        migrations.RunPython(drop_head_function, migrations.RunPython.noop, elidable=False),
    ]
