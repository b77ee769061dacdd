"""Writes on drivers, objectives, key results and check-ins."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quarterdeck.core import activity
from quarterdeck.strategy.models import (
    CheckIn,
    Direction,
    Driver,
    FeatureMeasurement,
    KeyResult,
    Objective,
)
from quarterdeck.strategy.scoring import ScoringConfig

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
        and 2000 <= int(quarter[:4]) <= 2100
    )
    if not ok:
        raise ValidationError({"quarter": QUARTER_FORMAT})


def _weights_reason(changes: dict, driver: Driver) -> str:
    if "weight" not in changes:
        return _("driver “%(d)s” changed") % {"d": driver.name}
    old, new = changes["weight"]
    return _("weight of “%(d)s” %(a)s → %(b)s") % {"d": driver.name, "a": old, "b": new}


def validate_quarter(quarter: str) -> None:
    """ValidationError({"quarter": …}) unless `quarter` is written like 2026-Q4."""
    _validate_quarter(quarter)


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


def feature_inputs_changed(*, feature_ids: list[int], reason: str = "") -> None:
    """Called after commit when anything a score depends on changed."""
    try:
        from quarterdeck.strategy.ranking import features_changed
    except ImportError:
        return
    features_changed(feature_ids=feature_ids, reason=reason)


def workspace_inputs_changed(*, workspace, reason: str = "", demand_changed: bool = False) -> None:
    """Every score may have changed (weights, settings): re-score after commit. With
    `demand_changed` (segment weights), the demand of every need is summed again."""
    try:
        from quarterdeck.strategy.ranking import workspace_changed
    except ImportError:
        return
    transaction.on_commit(
        lambda: workspace_changed(
            workspace_id=workspace.pk, reason=reason, demand_changed=demand_changed
        ),
        robust=True,
    )


def _key_result_changed(key_result: KeyResult) -> None:
    """A key result at risk weighs more in the scores of the features aimed at it."""
    feature_ids = list(key_result.features.values_list("id", flat=True))
    if feature_ids:
        transaction.on_commit(lambda: feature_inputs_changed(feature_ids=feature_ids), robust=True)


@transaction.atomic
def driver_create(*, workspace, name: str, by=None, description: str = "", weight: float = 1.0):
    driver = Driver(
        workspace=workspace, name=(name or "").strip(), description=description, weight=weight
    )
    _validate_driver(driver)
    driver.save()
    activity.record(workspace=workspace, actor=by, verb="created", target=driver)
    workspace_inputs_changed(
        workspace=workspace, reason=_("driver “%(d)s” added") % {"d": driver.name}
    )
    return driver


@transaction.atomic
def driver_update(*, driver: Driver, by=None, **fields) -> Driver:
    changes = activity.update(
        driver,
        fields=fields,
        allowed=DRIVER_FIELDS,
        validate=_validate_driver,
        workspace=driver.workspace,
        by=by,
    )
    if changes:
        workspace_inputs_changed(
            workspace=driver.workspace, reason=_weights_reason(changes, driver)
        )
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
    activity.update(
        objective,
        fields=fields,
        allowed=OBJECTIVE_FIELDS,
        validate=_validate_objective,
        workspace=objective.workspace,
        by=by,
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
    activity.update(
        key_result,
        fields=fields,
        allowed=KEY_RESULT_FIELDS,
        validate=_validate_key_result,
        workspace=key_result.objective.workspace,
        by=by,
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
    _refresh_measurements(key_result)
    _key_result_changed(key_result)
    return check_in


CHECK_IN_COLUMNS = ("date", "value", "confidence", "comment")
MAX_CSV_ROWS = 5000


def _parse_check_in_rows(text: str) -> tuple[list[dict], list[str]]:
    """Rows of a check-in CSV as dicts, and the problems found, each naming its line."""
    import csv
    import io

    rows, errors = [], []
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return [], [
            _("The file is empty; the first line names the columns: %(c)s.")
            % {"c": ", ".join(CHECK_IN_COLUMNS)}
        ]
    except csv.Error as exc:
        return [], [_("Line 1: %(e)s") % {"e": exc}]
    unknown = [h for h in header if h not in CHECK_IN_COLUMNS]
    missing = [h for h in ("date", "value") if h not in header]
    if unknown:
        errors.append(
            _("Line 1: unknown column(s) %(u)s; the columns are %(c)s.")
            % {"u": ", ".join(unknown), "c": ", ".join(CHECK_IN_COLUMNS)}
        )
    if missing:
        errors.append(_("Line 1: missing column(s) %(m)s.") % {"m": ", ".join(missing)})
    if len(set(header)) != len(header):
        errors.append(_("Line 1: a column is named twice."))
    if errors:
        return [], errors
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= MAX_CSV_ROWS:
                errors.append(_("More than %(n)s rows; split the file.") % {"n": MAX_CSV_ROWS})
                break
            if len(cells) > len(header):
                errors.append(
                    _("Line %(l)s: %(n)s cells where the header has %(h)s.")
                    % {"l": number, "n": len(cells), "h": len(header)}
                )
                continue
            record = dict(zip(header, [c.strip() for c in cells], strict=False))
            problems = []
            try:
                day = dt.date.fromisoformat(record.get("date", ""))
            except ValueError:
                day = None
                problems.append(
                    _("date “%(d)s” is not a date like 2026-10-31") % {"d": record.get("date", "")}
                )
            try:
                value = float(record.get("value", ""))
                if value != value or value in (float("inf"), float("-inf")):
                    raise ValueError
            except ValueError:
                value = None
                problems.append(_("value “%(v)s” is not a number") % {"v": record.get("value", "")})
            confidence_text = record.get("confidence", "")
            confidence = 0.7
            if confidence_text:
                try:
                    confidence = float(confidence_text)
                    if not 0 <= confidence <= 1:
                        raise ValueError
                except ValueError:
                    problems.append(
                        _("confidence “%(c)s” is not a number from 0 to 1") % {"c": confidence_text}
                    )
            if problems:
                errors.append(_("Line %(l)s: %(p)s.") % {"l": number, "p": "; ".join(problems)})
                continue
            rows.append(
                {
                    "checked_on": day,
                    "value": value,
                    "confidence": confidence,
                    "comment": record.get("comment", ""),
                }
            )
    except csv.Error as exc:
        errors.append(_("Line %(l)s: %(e)s") % {"l": reader.line_num, "e": exc})
    if not rows and not errors:
        errors.append(_("The file has a header but no rows."))
    return rows, errors


@transaction.atomic
def check_ins_import(*, key_result: KeyResult, text: str, by=None) -> list[CheckIn]:
    """Check-ins from CSV (`date,value,confidence,comment`): all rows or none.

    A bad file raises ValidationError({"file": [one message per bad line]}).
    """
    rows, errors = _parse_check_in_rows(text)
    if errors:
        raise ValidationError({"file": errors})
    author = by if getattr(by, "is_authenticated", False) else None
    created = CheckIn.objects.bulk_create(
        CheckIn(key_result=key_result, by=author, **row) for row in rows
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
        message=_("%(n)s check-ins imported from CSV") % {"n": len(created)},
    )
    _refresh_measurements(key_result)
    _key_result_changed(key_result)
    return created


# --- prioritization ---------------------------------------------------------------------------


@transaction.atomic
def driver_weights_update(*, workspace, weights: dict, by=None) -> list[Driver]:
    """Set several driver weights at once ({driver id: weight}); one re-score for all of them."""
    drivers = {d.pk: d for d in Driver.objects.select_for_update().filter(workspace=workspace)}
    errors = {}
    parsed = {}
    for key, value in weights.items():
        try:
            pk = int(key)
        except (TypeError, ValueError):
            pk = None
        if pk not in drivers:
            errors[f"drivers.{key}"] = _("No such driver.")
            continue
        try:
            weight = float(value)
            if not (weight >= 0 and weight != float("inf")):
                raise ValueError
        except (TypeError, ValueError):
            errors[f"drivers.{key}"] = _("Weight of “%(d)s” is a number of zero or more.") % {
                "d": drivers[pk].name
            }
            continue
        parsed[pk] = weight
    if errors:
        raise ValidationError(errors)
    changed, reasons = [], []
    for pk, weight in parsed.items():
        driver = drivers[pk]
        if driver.weight == weight:
            continue
        old = driver.weight
        driver.weight = weight
        driver.save(update_fields=["weight", "updated_at"])
        activity.record(
            workspace=workspace,
            actor=by,
            verb="updated",
            target=driver,
            changes={"weight": [old, weight]},
        )
        changed.append(driver)
        reasons.append(f"{driver.name} {old:g} → {weight:g}")
    if changed:
        workspace_inputs_changed(
            workspace=workspace,
            reason=(_("driver weights: %(w)s") % {"w": ", ".join(reasons)})[:300],
        )
    return changed


def _formula_error(exc) -> ValidationError:
    error = ValidationError({"formula": [exc.message]})
    error.position = exc.position
    return error


@transaction.atomic
def scoring_config_update(*, workspace, by=None, **settings) -> ScoringConfig:
    """Change the workspace's framework, formula or parameters.

    A bad formula raises ValidationError({"formula": [message]}) whose `position` attribute is
    the parser's offset; the stored settings stay as they were.
    """
    from quarterdeck.accounts.models import Workspace
    from quarterdeck.strategy import scoring
    from quarterdeck.strategy.ranking import scoring_config

    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    current = scoring_config(workspace).to_dict()
    data = {**current, **settings}
    try:
        config = scoring.ScoringConfig.from_dict(data)
        scoring.validate_config(config)
    except scoring.FormulaError as exc:
        raise _formula_error(exc) from exc
    except scoring.ConfigError as exc:
        raise ValidationError({exc.field: [exc.message]}) from exc
    new = config.to_dict()
    changes = {k: [current.get(k), v] for k, v in new.items() if current.get(k) != v}
    if changes:
        workspace.scoring = new
        workspace.save(update_fields=["scoring", "updated_at"])
        activity.record(
            workspace=workspace,
            actor=by,
            verb="scoring_changed",
            target=workspace,
            changes=changes,
        )
        label = scoring.FRAMEWORK_LABELS.get(config.framework, config.framework)
        workspace_inputs_changed(
            workspace=workspace, reason=_("scoring settings changed (%(f)s)") % {"f": label}
        )
    return config


# --- measured impact --------------------------------------------------------------------------


def _shipped_on(feature) -> dt.date | None:
    """The day the feature last moved to shipped (from the audit trail), else its status date."""
    from quarterdeck.core.models import Activity

    for changes, created_at in Activity.objects.filter(
        workspace_id=feature.workspace_id,
        target_type="feature",
        target_id=feature.pk,
        verb="status_changed",
    ).values_list("changes", "created_at"):
        status = (changes or {}).get("status")
        if isinstance(status, list) and len(status) == 2 and status[1] == "shipped":
            return timezone.localdate(created_at)
    if feature.status_changed_at:
        return timezone.localdate(feature.status_changed_at)
    return None


def expected_change_from_outcomes(text: str, metric: str) -> float | None:
    """The first signed number on a line of `text` that names `metric` (e.g. "Absenteeism -2")."""
    import re

    metric = (metric or "").strip().lower()
    if not metric:
        return None
    for line in (text or "").splitlines():
        if metric in line.lower():
            rest = line.lower().split(metric, 1)[1].replace("−", "-")
            match = re.search(r"[-+]?\d+(?:[.,]\d+)?", rest)
            if match:
                return float(match.group().replace(",", "."))
    return None


def _measure(measurement: FeatureMeasurement, check_ins: list[CheckIn]) -> None:
    shipped, end = (
        measurement.shipped_on,
        measurement.shipped_on + dt.timedelta(days=measurement.window_days),
    )
    before = [c for c in check_ins if c.checked_on <= shipped]
    after = [c for c in check_ins if shipped < c.checked_on <= end]
    measurement.before = before[-1].value if before else None
    measurement.before_on = before[-1].checked_on if before else None
    measurement.after = after[-1].value if after else None
    measurement.after_on = after[-1].checked_on if after else None
    measurement.measured_at = timezone.now()


@transaction.atomic
def feature_measure(
    *, feature, window_days: int = 30, by=None, expected_change: float | None = None
) -> list[FeatureMeasurement]:
    """Measure a shipped feature on each of its key results: the value on the ship date (latest
    check-in on or before it) against the latest check-in within `window_days` after it."""
    from quarterdeck.backlog.models import Status

    errors = {}
    if feature.status not in (Status.SHIPPED, Status.MEASURED):
        errors["feature"] = _("Only a shipped feature can be measured.")
    try:
        window_days = int(window_days)
        if not 1 <= window_days <= 365:
            raise ValueError
    except (TypeError, ValueError):
        errors["window_days"] = _("The window is a number of days from 1 to 365.")
    key_results = list(
        feature.key_results.select_related("objective").prefetch_related("check_ins")
    )
    if not key_results and "feature" not in errors:
        errors["feature"] = _("The feature aims at no key result; link one first.")
    if errors:
        raise ValidationError(errors)
    shipped_on = _shipped_on(feature) or timezone.localdate()
    results = []
    for kr in key_results:
        measurement = FeatureMeasurement.objects.filter(
            feature=feature, key_result=kr, window_days=window_days
        ).first() or FeatureMeasurement(
            workspace_id=feature.workspace_id,
            feature=feature,
            key_result=kr,
            window_days=window_days,
        )
        measurement.shipped_on = shipped_on
        if expected_change is not None:
            measurement.expected_change = float(expected_change)
        elif measurement.expected_change is None:
            measurement.expected_change = expected_change_from_outcomes(
                feature.expected_outcomes, kr.metric
            )
        measurement.by = by if getattr(by, "is_authenticated", False) else None
        _measure(measurement, sorted(kr.check_ins.all(), key=lambda c: (c.checked_on, c.id)))
        measurement.save()
        results.append(measurement)
    activity.record(
        workspace=feature.workspace,
        actor=by,
        verb="measured",
        target=feature,
        changes={m.key_result.metric: [m.before, m.after] for m in results},
        message=_("%(n)s days after shipping") % {"n": window_days},
    )
    return results


def _refresh_measurements(key_result: KeyResult) -> None:
    """A new check-in may complete the measurements waiting on this key result."""
    pending = list(FeatureMeasurement.objects.filter(key_result=key_result))
    if not pending:
        return
    check_ins = list(key_result.check_ins.order_by("checked_on", "id"))
    for measurement in pending:
        _measure(measurement, check_ins)
        measurement.save(
            update_fields=["before", "before_on", "after", "after_on", "measured_at", "updated_at"]
        )


@transaction.atomic
def scoring_update(*, workspace, settings: dict, weights: dict, by=None) -> ScoringConfig:
    """Scoring settings and driver weights together: both are applied, or neither."""
    config = scoring_config_update(workspace=workspace, by=by, **settings)
    if weights:
        driver_weights_update(workspace=workspace, weights=weights, by=by)
    return config
