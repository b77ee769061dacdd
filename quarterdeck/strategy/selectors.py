"""Reads for OKR pages, the home page and the API."""

from django.db.models import Prefetch, QuerySet

from quarterdeck.strategy.models import CheckIn, Driver, KeyResult, Objective

AT_RISK_CONFIDENCE = 0.5


def drivers(workspace) -> QuerySet[Driver]:
    return Driver.objects.filter(workspace=workspace)


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


def is_at_risk(kr: KeyResult, check_ins: list[CheckIn]) -> bool:
    """Low confidence at the last check-in, or the last two check-ins moving away from target."""
    if not check_ins:
        return False
    last = check_ins[-1]
    if last.confidence < AT_RISK_CONFIDENCE:
        return True
    if len(check_ins) >= 2:
        delta = last.value - check_ins[-2].value
        wants_up = kr.target >= kr.baseline
        if kr.direction in ("increase", "decrease") and delta != 0 and (delta > 0) != wants_up:
            return True
    if kr.direction == "keep_above" and last.value < kr.target:
        return True
    return kr.direction == "keep_below" and last.value > kr.target


def key_results_at_risk(workspace) -> list[KeyResult]:
    result = []
    qs = key_results(workspace).prefetch_related(
        Prefetch("check_ins", CheckIn.objects.order_by("checked_on", "id"))
    )
    for kr in qs:
        if is_at_risk(kr, list(kr.check_ins.all())):
            result.append(kr)
    return result
