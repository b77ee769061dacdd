"""Packed score terms, stored need demand and its revision counter (re-scoring at scale)."""

import math

import django.db.models.deletion
import numpy as np
from django.db import migrations, models

TERM_NAMES = (  # scoring.TERM_NAMES when this migration was written
    "user_value",
    "reach",
    "impact",
    "driver_value",
    "kr_alignment",
    "company_value",
    "value",
    "effort",
    "risk_factor",
    "job_size",
    "ease",
    "confidence",
    "time_criticality",
    "risk_reduction",
)


def pack_terms(apps, schema_editor):
    FeatureScore = apps.get_model("strategy", "FeatureScore")
    rows = []
    for score in FeatureScore.objects.only("feature_id", "terms").iterator(chunk_size=2000):
        terms = score.terms or {}
        values = [terms.get(name) for name in TERM_NAMES]
        score.packed_terms = np.array(
            [math.nan if v is None else float(v) for v in values], dtype="<f8"
        ).tobytes()
        rows.append(score)
    FeatureScore.objects.bulk_update(rows, ["packed_terms"], batch_size=500)


def leave_room_for_updates(apps, schema_editor):
    """PostgreSQL: pages of the score table keep room for in-place (HOT) updates."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE strategy_featurescore SET (fillfactor = 50)")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("insights", "0002_inbox_indexes_with_id"),
        ("strategy", "0002_rank_changes_measurements"),
    ]

    operations = [
        migrations.CreateModel(
            name="DemandRevision",
            fields=[
                (
                    "workspace",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="accounts.workspace",
                    ),
                ),
                ("value", models.PositiveBigIntegerField(default=0)),
            ],
        ),
        migrations.AddField(
            model_name="featurescore",
            name="packed_terms",
            field=models.BinaryField(default=b""),
        ),
        migrations.RunPython(pack_terms, migrations.RunPython.noop),
        migrations.RemoveField(model_name="featurescore", name="terms"),
        migrations.RunPython(leave_room_for_updates, migrations.RunPython.noop),
        migrations.CreateModel(
            name="NeedDemand",
            fields=[
                (
                    "need",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="insights.need",
                    ),
                ),
                ("amount", models.FloatField()),
                ("weight", models.FloatField()),
                ("stakeholders", models.PositiveIntegerField()),
                ("groups", models.PositiveIntegerField()),
                ("rate", models.FloatField()),
                ("as_of", models.FloatField()),
                (
                    "workspace",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.workspace",
                    ),
                ),
            ],
        ),
    ]
