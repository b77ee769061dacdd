"""The audit trail: services call `record` inside their transaction for every write."""

from typing import Any

from django.db import models

from quarterdeck.core.models import Activity


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value


def diff(instance: models.Model, before: dict[str, Any], fields) -> dict[str, list[Any]]:
    """The fields whose value changed since `before`, as {field: [old, new]}."""
    changes = {}
    for field in fields:
        old, new = before.get(field), getattr(instance, field)
        if old != new:
            changes[field] = [_plain(old), _plain(new)]
    return changes


def snapshot(instance: models.Model, fields) -> dict[str, Any]:
    return {field: getattr(instance, field) for field in fields}


def record(
    *,
    workspace,
    actor,
    verb: str,
    target: models.Model,
    changes: dict | None = None,
    message: str = "",
) -> Activity:
    return Activity.objects.create(
        workspace=workspace,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        verb=verb,
        target_type=target._meta.model_name,
        target_id=target.pk,
        target_label=str(target)[:300],
        changes=changes or {},
        message=message,
    )


def history(workspace, target: models.Model, limit: int = 50):
    return Activity.objects.filter(
        workspace=workspace, target_type=target._meta.model_name, target_id=target.pk
    ).select_related("actor")[:limit]


def update(
    instance: models.Model,
    *,
    fields: dict[str, Any],
    allowed,
    validate,
    workspace,
    by,
    verb: str = "updated",
) -> dict[str, list[Any]]:
    """Set `fields` on `instance`, validate, and save and audit it if anything changed.

    The shared body of every `<entity>_update` service: unknown fields are refused by name;
    `validate(instance)` raises ValidationError; returns the changes ({field: [old, new]}).
    """
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in sorted(unknown)})
    before = snapshot(instance, allowed)
    for name, value in fields.items():
        setattr(instance, name, value)
    validate(instance)
    changes = diff(instance, before, allowed)
    if changes:
        instance.save()
        record(workspace=workspace, actor=by, verb=verb, target=instance, changes=changes)
    return changes
