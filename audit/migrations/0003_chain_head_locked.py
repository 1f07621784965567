"""Once created a PostgreSQL function for a second, hand-written submit path; now a no-op.

Databases that applied the earlier version of this migration have that function:
0004_event_to_patches drops it. Kept so the migration graph of existing databases is unchanged.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_event_append_only")]

    operations = []  # type: ignore[var-annotated]
