"""`/api/v1/features/{id}/score` and `/api/v1/scoring`: explainable scores and their settings."""

from typing import Any

from django.core.exceptions import ValidationError
from ninja import Field, Router, Schema

from quarterdeck.api.base import Problem, get_or_404, require_manage
from quarterdeck.api.schemas import READ_ERRORS, WRITE_ERRORS, In
from quarterdeck.strategy import ranking, scoring, selectors, services

router = Router(tags=["scoring"])


class TermOut(Schema):
    name: str
    value: float | None = Field(description="None when the term has no data (missing, not 0).")
    share: float | None = Field(description="Fraction of the total from this term, if additive.")
    formula: str
    inputs: dict[str, Any]


class ScoreOut(Schema):
    framework: str
    formula: str = Field(description="The formula the terms combine by into the total.")
    total: float | None
    missing: list[str]
    terms: list[TermOut]


class DriverWeight(Schema):
    id: int
    name: str
    weight: float


class ScoringOut(Schema):
    framework: str
    formula: str
    half_life_days: float | None
    risk_factors: dict[str, float]
    min_effort: float
    kr_bonus: float
    kr_at_risk_bonus: float
    drivers: list[DriverWeight]
    frameworks: dict[str, str]
    terms: dict[str, str]


class DriverWeightIn(In):
    id: int
    name: str | None = None
    weight: float = Field(ge=0)


class ScoringIn(In):
    framework: str | None = None
    formula: str | None = None
    half_life_days: float | None = Field(None, gt=0)
    risk_factors: dict[str, float] | None = None
    min_effort: float | None = None
    kr_bonus: float | None = None
    kr_at_risk_bonus: float | None = None
    drivers: list[DriverWeightIn] | None = None


@router.get("/features/{feature_id}/score", response={200: ScoreOut, **READ_ERRORS})
def feature_score(request, feature_id: int):
    """The feature's score: every term with its value, inputs and share, and the formula that
    combines them into the total. Terms without data are listed in `missing`."""
    from quarterdeck.backlog.models import Feature

    feature = get_or_404(
        Feature.objects.filter(workspace=request.workspace).select_related("workspace"),
        feature_id,
        "feature",
    )
    return ranking.feature_breakdown(feature).as_dict()


def _scoring_out(workspace) -> dict:
    config = ranking.scoring_config(workspace).to_dict()
    return {
        **config,
        "drivers": [
            {"id": d.pk, "name": d.name, "weight": d.weight}
            for d in selectors.drivers(workspace).order_by("name")
        ],
        "frameworks": {**scoring.FRAMEWORKS, scoring.CUSTOM: "the workspace's formula"},
        "terms": dict(scoring.TERMS),
    }


@router.get("/scoring", response={200: ScoringOut, **READ_ERRORS})
def scoring_get(request):
    """The workspace's framework, formula, parameters and driver weights."""
    return _scoring_out(request.workspace)


@router.put("/scoring", response={200: ScoringOut, **WRITE_ERRORS})
def scoring_put(request, payload: ScoringIn):
    """Change the framework, formula, parameters or driver weights (admins and PMs).

    All or nothing: a bad formula is a 400 naming the problem and its `position`, and nothing
    changes. Scores are recomputed after the change."""
    require_manage(request)
    data = payload.model_dump(exclude_unset=True)
    weights = {d["id"]: d["weight"] for d in data.pop("drivers", None) or []}
    try:
        services.scoring_update(
            workspace=request.workspace, by=request.user, settings=data, weights=weights
        )
    except ValidationError as exc:
        position = getattr(exc, "position", None)
        errors = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
        extra = {"position": position} if position is not None else {}
        title = "Invalid formula" if position is not None else "Invalid input"
        raise Problem(400, title, detail, errors, **extra) from exc
    request.workspace.refresh_from_db()
    return _scoring_out(request.workspace)
