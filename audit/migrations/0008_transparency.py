"""The transparency log: checkpoints as C2SP signed notes, the stored Merkle tree, cosignatures.

Checkpoint.note is added with plain ALTER TABLE ADD COLUMN on both backends: Django would
rebuild the table on SQLite for a NOT NULL column with a default, which would drop the
append-only triggers. Checkpoints signed before keep an empty note (and keep verifying).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0007_label_moves"),
    ]

    operations = [
        migrations.CreateModel(
            name="MerkleNode",
            fields=[
                ("node", models.BigIntegerField(primary_key=True, serialize=False)),
                ("hash", models.BinaryField(max_length=32)),
            ],
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE audit_checkpoint ADD COLUMN note text NOT NULL DEFAULT ''",
                    "ALTER TABLE audit_checkpoint DROP COLUMN note",
                )
            ],
            state_operations=[
                migrations.AddField(
                    model_name="checkpoint",
                    name="note",
                    field=models.TextField(blank=True, default=""),
                )
            ],
        ),
        migrations.CreateModel(
            name="Cosignature",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("witness", models.CharField(max_length=200)),
                ("timestamp", models.BigIntegerField()),
                ("line", models.TextField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "checkpoint",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cosignatures",
                        to="audit.checkpoint",
                    ),
                ),
            ],
            options={
                "ordering": ["checkpoint", "witness"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("checkpoint", "witness"), name="one_cosignature_per_witness"
                    )
                ],
            },
        ),
    ]
