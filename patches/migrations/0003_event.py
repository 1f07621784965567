"""The event log joins the domain: patches.Event over the existing table audit_event.

State only (audit 0004 removed the model from audit's state); the table, its rows, indexes and
append-only triggers are untouched. The content type moves along, so admin permissions that
named audit.Event keep working.
"""

import django.db.models.deletion
from django.db import migrations, models


def move_content_type(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="audit", model="event").update(app_label="patches")


def move_content_type_back(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="patches", model="event").update(app_label="audit")


class Migration(migrations.Migration):
    dependencies = [
        ("patches", "0002_testgate_lease"),
        ("audit", "0004_event_to_patches"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Event",
                    fields=[
                        ("seq", models.BigIntegerField(primary_key=True, serialize=False)),
                        ("kind", models.CharField(db_index=True, max_length=40)),
                        ("actor", models.CharField(max_length=200)),
                        ("payload", models.TextField()),
                        ("created_at", models.DateTimeField()),
                        ("prev_hash", models.CharField(max_length=71)),
                        ("hash", models.CharField(max_length=71, unique=True)),
                        (
                            "proposal",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="events",
                                to="patches.proposal",
                            ),
                        ),
                    ],
                    options={"db_table": "audit_event", "ordering": ["seq"]},
                )
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back, elidable=False),
    ]
