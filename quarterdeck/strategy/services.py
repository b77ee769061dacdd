"""Writes on drivers, objectives, key results and check-ins."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quarterdeck.core import activity
from quarterdeck.strategy.models import CheckIn, Direction, Driver, KeyResult, Objective

QUARTER_FORMAT = _("A quarter is written YYYY-Qn, e.g. 2026-Q4.")
DRIVER_FIELDS = ("name", "description", "weight")
OBJECTIVE_FIELDS = ("title", "description", "quarter", "squad", "owner")
KEY_RESULT_FIELDS = ("metric", "unit", "baseline", "target", "direction")


def _validate_quarter(quarter: str) -> None:
    ok = (
        isinstance(quarter, str)
        and len(quarter) == 7
        and quarter[:4].isdigit()
        and quarter[4:6] == "-Q"
        and quarter[6] in "1234"
    )
    if not ok:
        raise ValidationError({"quarter": QUARTER_FORMAT})


def _validate_driver(driver: Driver) -> None:
    errors = {}
    if not (driver.name or "").strip():
        errors["name"] = _("A driver has a name.")
    elif (
        Driver.objects.filter(workspace_id=driver.workspace_id, name__iexact=driver.name.strip())
        .exclude(pk=driver.pk)
        .exists()
    ):
        errors["name"] = _("Another driver has this name.")
    try:
        if float(driver.weight) < 0:
            raise ValueError
    except (TypeError, ValueError):
        errors["weight"] = _("Weight is a number of zero or more.")
    if errors:
        raise ValidationError(errors)


def feature_inputs_changed(*, feature_ids: list[int]) -> None:
    """Called after commit when anything a score depends on changed."""
    try:
        from quarterdeck.strategy.ranking import features_changed
    except ImportError:
        return
    features_changed(feature_ids=feature_ids)


def workspace_inputs_changed(*, workspace) -> None:
    try:
        from quarterdeck.strategy.ranking import workspace_changed
    except ImportError:
        return
    transaction.on_commit(lambda: workspace_changed(workspace_id=workspace.pk))


@transaction.atomic
def driver_create(*, workspace, name: str, by=None, description: str = "", weight: float = 1.0):
    driver = Driver(
        workspace=workspace, name=(name or "").strip(), description=description, weight=weight
    )
    _validate_driver(driver)
    driver.save()
    activity.record(workspace=workspace, actor=by, verb="created", target=driver)
    workspace_inputs_changed(workspace=workspace)
    return driver


@transaction.atomic
def driver_update(*, driver: Driver, by=None, **fields) -> Driver:
    unknown = set(fields) - set(DRIVER_FIELDS)
    if unknown:
        raise ValidationError({f: _("Unknown field.") for f in unknown})
    before = activity.snapshot(driver, DRIVER_FIELDS)
    for name, value in fields.items():
        setattr(driver, name, value)
    _validate_driver(driver)
    changes = activity.diff(driver, before, DRIVER_FIELDS)
    if changes:
        driver.save()
        activity.record(
            workspace=driver.workspace, actor=by, verb="updated", target=driver, changes=changes
        )
        workspace_inputs_changed(workspace=driver.workspace)
    return driver


def _validate_objective(objective: Objective) -> None:
    errors = {}
    if not (objective.title or "").strip():
        errors["title"] = _("An objective has a title.")
    try:
        _validate_quarter(objective.quarter)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if objective.squad is not None and objective.squad.workspace_id != objective.workspace_id:
        errors["squad"] = _("No such squad.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def objective_create(*, workspace, title: str, quarter: str, by=None, **fields) -> Objective:
    objective = Objective(
        workspace=workspace, title=(title or "").strip(), quarter=quarter, **fields
    )
    _validate_objective(objective)
    objective.save()
    activity.record(workspace=workspace, actor=by, verb="created", target=objective)
    return objective


@transaction.atomic
def objective_update(*, objective: Objective, by=None, **fields) -> Objective:
    unknown = set(fields) - set(OBJECTIVE_FIELDS)
    if unknown:
        raise ValidationError({f: _("Unknown field.") for f in unknown})
    before = activity.snapshot(objective, OBJECTIVE_FIELDS)
    for name, value in fields.items():
        setattr(objective, name, value)
    _validate_objective(objective)
    changes = activity.diff(objective, before, OBJECTIVE_FIELDS)
    if changes:
        objective.save()
        activity.record(
            workspace=objective.workspace,
            actor=by,
            verb="updated",
            target=objective,
            changes=changes,
        )
    return objective


def _validate_key_result(kr: KeyResult) -> None:
    errors = {}
    if not (kr.metric or "").strip():
        errors["metric"] = _("A key result names its metric.")
    for field in ("baseline", "target"):
        try:
            float(getattr(kr, field))
        except (TypeError, ValueError):
            errors[field] = _("A number is required.")
    if kr.direction not in Direction.values:
        errors["direction"] = _("Unknown direction “%(d)s”; expected one of %(all)s") % {
            "d": kr.direction,
            "all": ", ".join(Direction.values),
        }
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def key_result_create(
    *,
    objective: Objective,
    metric: str,
    baseline: float,
    target: float,
    by=None,
    unit: str = "",
    direction: str = Direction.INCREASE,
) -> KeyResult:
    kr = KeyResult(
        objective=objective,
        metric=(metric or "").strip(),
        unit=unit or "",
        baseline=baseline,
        target=target,
        direction=direction,
    )
    _validate_key_result(kr)
    kr.save()
    activity.record(workspace=objective.workspace, actor=by, verb="created", target=kr)
    return kr


@transaction.atomic
def key_result_update(*, key_result: KeyResult, by=None, **fields) -> KeyResult:
    unknown = set(fields) - set(KEY_RESULT_FIELDS)
    if unknown:
        raise ValidationError({f: _("Unknown field.") for f in unknown})
    before = activity.snapshot(key_result, KEY_RESULT_FIELDS)
    for name, value in fields.items():
        setattr(key_result, name, value)
    _validate_key_result(key_result)
    changes = activity.diff(key_result, before, KEY_RESULT_FIELDS)
    if changes:
        key_result.save()
        activity.record(
            workspace=key_result.objective.workspace,
            actor=by,
            verb="updated",
            target=key_result,
            changes=changes,
        )
    return key_result


@transaction.atomic
def check_in_create(
    *,
    key_result: KeyResult,
    value: float,
    by=None,
    confidence: float = 0.7,
    comment: str = "",
    checked_on: dt.date | None = None,
) -> CheckIn:
    """Record a dated value; the key result's current value is the latest check-in's."""
    errors = {}
    try:
        value = float(value)
    except (TypeError, ValueError):
        errors["value"] = _("A number is required.")
    try:
        confidence = float(confidence)
        if not 0 <= confidence <= 1:
            raise ValueError
    except (TypeError, ValueError):
        errors["confidence"] = _("Confidence is between 0 and 1.")
    if errors:
        raise ValidationError(errors)
    check_in = CheckIn.objects.create(
        key_result=key_result,
        value=value,
        confidence=confidence,
        comment=comment or "",
        checked_on=checked_on or timezone.localdate(),
        by=by if getattr(by, "is_authenticated", False) else None,
    )
    latest = key_result.check_ins.order_by("-checked_on", "-id").first()
    old = key_result.current
    key_result.current = latest.value
    key_result.save(update_fields=["current", "updated_at"])
    activity.record(
        workspace=key_result.objective.workspace,
        actor=by,
        verb="checked_in",
        target=key_result,
        changes={"current": [old, key_result.current]},
        message=comment or "",
    )
    return check_in
