"""Reads for OKR pages, the home page and the API."""

import datetime as dt

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from quarterdeck.strategy.models import (
    CheckIn,
    Direction,
    Driver,
    FeatureMeasurement,
    KeyResult,
    Objective,
    RankChange,
    quarter_of,
)

AT_RISK_CONFIDENCE = 0.5


def drivers(workspace) -> QuerySet[Driver]:
    return Driver.objects.filter(workspace=workspace)


def drivers_with_usage(workspace) -> QuerySet[Driver]:
    """Drivers with the number of features serving each (contribution above 0)."""
    return Driver.objects.filter(workspace=workspace).annotate(
        feature_count=Count("feature_links", filter=Q(feature_links__contribution__gt=0))
    )


def objectives(workspace, *, quarter: str | None = None, squad=None) -> QuerySet[Objective]:
    qs = (
        Objective.objects.filter(workspace=workspace)
        .select_related("squad", "owner")
        .prefetch_related(
            Prefetch(
                "key_results",
                KeyResult.objects.prefetch_related(
                    Prefetch("check_ins", CheckIn.objects.order_by("checked_on", "id"))
                ),
            )
        )
    )
    if quarter:
        qs = qs.filter(quarter=quarter)
    if squad:
        qs = qs.filter(squad=squad)
    return qs


def quarters(workspace) -> list[str]:
    return list(
        Objective.objects.filter(workspace=workspace)
        .order_by("-quarter")
        .values_list("quarter", flat=True)
        .distinct()
    )


def key_results(workspace) -> QuerySet[KeyResult]:
    return KeyResult.objects.filter(objective__workspace=workspace).select_related("objective")


BEHIND_THE_LINE = 0.2  # progress this far behind the straight line from baseline to target


def risk_reasons(kr: KeyResult, check_ins: list[CheckIn]) -> list[str]:
    """Why a key result is at risk (empty: on track or no check-in yet).

    At risk: low confidence at the last check-in; for keep-above/below, the last value on the wrong
    side of the target; for increase/decrease, progress more than a fifth of the way behind the
    straight line from baseline (quarter start) to target (quarter end), or the last two check-ins
    moving away from the target while short of it.
    """
    if not check_ins:
        return []
    reasons = []
    last = check_ins[-1]
    if last.confidence < AT_RISK_CONFIDENCE:
        reasons.append(
            _("Low confidence (%(c)s) at the last check-in") % {"c": f"{last.confidence:.1f}"}
        )
    if kr.direction == Direction.KEEP_ABOVE and last.value < kr.target:
        reasons.append(_("Below the level it must stay above"))
    elif kr.direction == Direction.KEEP_BELOW and last.value > kr.target:
        reasons.append(_("Above the level it must stay below"))
    elif kr.direction in (Direction.INCREASE, Direction.DECREASE):
        actual = kr.progress_at(last.value) or 0.0
        expected = kr.progress_at(kr.expected_on(last.checked_on)) or 0.0
        if expected - actual > BEHIND_THE_LINE:
            reasons.append(
                _("Behind plan: %(a)s of the way where %(e)s was expected by now")
                % {"a": f"{actual:.0%}", "e": f"{expected:.0%}"}
            )
        elif len(check_ins) >= 2 and actual < 1.0:
            delta = last.value - check_ins[-2].value
            wants_up = kr.target >= kr.baseline
            if delta != 0 and (delta > 0) != wants_up:
                reasons.append(_("Moving away from the target since the previous check-in"))
    return reasons


def is_at_risk(kr: KeyResult, check_ins: list[CheckIn]) -> bool:
    """Low confidence, or a poor trend against the straight line from baseline to target."""
    return bool(risk_reasons(kr, check_ins))


def key_results_at_risk(workspace) -> list[KeyResult]:
    result = []
    qs = (
        key_results(workspace)
        .filter(objective__quarter__gte=current_quarter())
        .prefetch_related(Prefetch("check_ins", CheckIn.objects.order_by("checked_on", "id")))
    )
    for kr in qs:
        if is_at_risk(kr, list(kr.check_ins.all())):
            result.append(kr)
    return result


def current_quarter() -> str:
    return quarter_of(timezone.localdate())


def quarter_choices(workspace) -> list[str]:
    """The quarters with objectives, plus the current and next quarter, newest first."""
    today = timezone.localdate()
    nxt = quarter_of(today + dt.timedelta(days=92))
    return sorted({*quarters(workspace), current_quarter(), nxt}, reverse=True)


def _check_ins() -> Prefetch:
    return Prefetch("check_ins", CheckIn.objects.select_related("by").order_by("checked_on", "id"))


def okr_objectives(workspace, *, quarter: str, squad: str | int | None = None):
    """Objectives of a quarter with key results, their check-ins and the features aimed at them.

    `squad`: a squad id, "company" for company-level objectives, or None for all.
    """
    from quarterdeck.backlog.models import Feature

    qs = (
        Objective.objects.filter(workspace=workspace, quarter=quarter)
        .select_related("squad", "owner", "workspace")
        .prefetch_related(
            Prefetch(
                "key_results",
                KeyResult.objects.prefetch_related(
                    _check_ins(),
                    Prefetch(
                        "features",
                        Feature.objects.select_related("squad", "workspace").order_by(
                            "status", "title"
                        ),
                    ),
                ),
            )
        )
        .order_by(F("squad__name").asc(nulls_first=True), "title")
    )
    if squad == "company":
        qs = qs.filter(squad__isnull=True)
    elif squad:
        qs = qs.filter(squad_id=squad)
    return qs


def objective_detail(workspace, pk) -> Objective:
    return okr_objectives_any(workspace).get(pk=pk)


def okr_objectives_any(workspace):
    from quarterdeck.backlog.models import Feature

    return (
        Objective.objects.filter(workspace=workspace)
        .select_related("squad", "owner", "workspace")
        .prefetch_related(
            Prefetch(
                "key_results",
                KeyResult.objects.prefetch_related(
                    _check_ins(),
                    Prefetch("features", Feature.objects.select_related("squad", "workspace")),
                ),
            )
        )
    )


def key_result_detail(workspace, pk) -> KeyResult:
    """A key result with its objective, check-ins (oldest first), features and measurements."""
    from quarterdeck.backlog.models import Feature

    return (
        KeyResult.objects.filter(objective__workspace=workspace)
        .select_related("objective__squad", "objective__owner", "objective__workspace")
        .prefetch_related(
            _check_ins(),
            Prefetch(
                "features",
                Feature.objects.select_related("squad", "workspace").order_by("status", "title"),
            ),
            Prefetch(
                "measurements",
                FeatureMeasurement.objects.select_related("feature__workspace").order_by(
                    "-measured_at"
                ),
            ),
        )
        .get(pk=pk)
    )


def measurement_for(feature) -> list[FeatureMeasurement]:
    """The measured impact of a shipped feature on each of its key results (newest first)."""
    return list(
        FeatureMeasurement.objects.filter(feature=feature)
        .select_related("key_result__objective")
        .order_by("key_result__metric", "-measured_at")
    )


def rank_changes(workspace, *, limit: int = 50):
    return RankChange.objects.filter(workspace=workspace).select_related(
        "feature__workspace", "feature__squad"
    )[:limit]
