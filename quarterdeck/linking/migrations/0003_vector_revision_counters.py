"""A vector revision counter for every workspace that already has vectors (their rows keep
revision 0), so each process builds its index once and then only catches up."""

import uuid

from django.db import migrations


def create_counters(apps, schema_editor):
    VectorRevision = apps.get_model("linking", "VectorRevision")
    InsightVector = apps.get_model("linking", "InsightVector")
    ItemVector = apps.get_model("linking", "ItemVector")
    workspaces = set(InsightVector.objects.values_list("workspace_id", flat=True).distinct())
    workspaces |= set(ItemVector.objects.values_list("workspace_id", flat=True).distinct())
    have = set(VectorRevision.objects.values_list("workspace_id", flat=True))
    VectorRevision.objects.bulk_create(
        VectorRevision(workspace_id=w, epoch=uuid.uuid4().hex, revision=0)
        for w in sorted(workspaces - have)
    )


def remove_counters(apps, schema_editor):
    apps.get_model("linking", "VectorRevision").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("linking", "0002_vector_revisions"),
    ]

    operations = [
        migrations.RunPython(create_counters, remove_counters),
    ]
