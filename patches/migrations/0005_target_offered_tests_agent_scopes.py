"""Target.offered_tests (the tests agents may name) and Agent.scopes (log:read for auditors).

Existing targets offer nothing beyond their mandatory tests, and existing agents hold no scope:
after this migration an agent names only offered tests and reads only its own events.

Named 0004 as planned; it follows 0004_event_mac, which was added first, so the graph keeps one
leaf.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("patches", "0004_event_mac")]

    operations = [
        migrations.AddField(
            model_name="agent",
            name="scopes",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="target",
            name="offered_tests",
            field=models.ManyToManyField(
                blank=True,
                help_text="Tests agents may ask for on this target, besides the mandatory ones.",
                related_name="offered_for",
                to="patches.testdefinition",
            ),
        ),
    ]
