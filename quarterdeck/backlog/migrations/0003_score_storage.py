"""Feature.score without an index, and room on PostgreSQL pages for in-place score updates."""

from django.db import migrations, models


def leave_room_for_updates(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE backlog_feature SET (fillfactor = 50)")


class Migration(migrations.Migration):
    dependencies = [
        ("backlog", "0002_delivery_records"),
    ]

    operations = [
        migrations.AlterField(
            model_name="feature",
            name="score",
            field=models.FloatField(blank=True, null=True, verbose_name="score"),
        ),
        migrations.RunPython(leave_room_for_updates, migrations.RunPython.noop),
    ]
