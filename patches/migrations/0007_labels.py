"""Labels and the fleet: Target.on_apply, Label, Observation; every existing target gets its
production label at its current version.

No event is written here (a migration holds no console key and must not fork the chain): the
log itself says these labels exist. A TargetCreated without "labels" predates labels, and replay
(audit.label_history) gives such a target a production label that follows its applies until
the first PatchApplied that names its labels_moved or the label's first LabelMoved, which is
exactly the state this migration writes.
"""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

import patches.label_models


def production_labels(apps, schema_editor):
    Target = apps.get_model("patches", "Target")
    Label = apps.get_model("patches", "Label")
    Label.objects.bulk_create(
        [
            Label(target_id=pk, name="production", version=version)
            for pk, version in Target.objects.values_list("pk", "version")
        ]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("patches", "0006_revisions"),
    ]

    operations = [
        migrations.AddField(
            model_name="target",
            name="on_apply",
            field=models.JSONField(
                blank=True,
                default=patches.label_models.default_on_apply,
                help_text='Labels an applied patch moves to the new version, e.g. ["production"].',
            ),
        ),
        migrations.CreateModel(
            name="Label",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.SlugField()),
                (
                    "approvals",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        help_text="Approvals a move needs; empty: the target's required approvals; 0: immediate.",
                        null=True,
                    ),
                ),
                ("version", models.PositiveIntegerField()),
                ("from_version", models.PositiveIntegerField(blank=True, null=True)),
                (
                    "percent",
                    models.PositiveSmallIntegerField(
                        default=100,
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(100),
                        ],
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("moved_at", models.DateTimeField(auto_now=True)),
                (
                    "target",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="labels",
                        to="patches.target",
                    ),
                ),
            ],
            options={
                "ordering": ["target", "name"],
                "constraints": [
                    models.UniqueConstraint(fields=("target", "name"), name="unique_target_label")
                ],
            },
        ),
        migrations.CreateModel(
            name="Observation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("instance", models.CharField(max_length=200)),
                ("label", models.CharField(default="production", max_length=50)),
                ("content_hash", models.CharField(max_length=71)),
                ("first_seen", models.DateTimeField(auto_now_add=True)),
                ("last_seen", models.DateTimeField()),
                (
                    "agent",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="observations",
                        to="patches.agent",
                    ),
                ),
                (
                    "target",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="observations",
                        to="patches.target",
                    ),
                ),
            ],
            options={
                "ordering": ["target", "instance"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("agent", "target", "instance"), name="one_observation_per_instance"
                    )
                ],
            },
        ),
        migrations.RunPython(production_labels, migrations.RunPython.noop),
    ]
