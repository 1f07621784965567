"""Event.mac: proof that the console wrote an event (see patches.chain.event_mac).

Plain ALTER TABLE ADD COLUMN on both backends: Django would rebuild the table on SQLite for a
NOT NULL column with a default, which would copy every event and drop the append-only triggers.
Existing events keep an empty MAC (written before MACs existed).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("patches", "0003_event")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE audit_event ADD COLUMN mac varchar(64) NOT NULL DEFAULT ''",
                    "ALTER TABLE audit_event DROP COLUMN mac",
                )
            ],
            state_operations=[
                migrations.AddField(
                    model_name="event",
                    name="mac",
                    field=models.CharField(blank=True, default="", max_length=64),
                )
            ],
        )
    ]
