"""`/api/v1/objectives` with their key results, `/api/v1/key-results` and their check-ins."""

import datetime as dt

from django.db import transaction
from django.db.models import Prefetch
from ninja import Field, Router, Schema

from quarterdeck.api.base import (
    delete_with_activity,
    get_or_404,
    paginate,
    require_manage,
    writer_auth,
)
from quarterdeck.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    In,
    list_params,
    member,
    one_in,
    rescore,
)
from quarterdeck.squads.models import Squad
from quarterdeck.strategy import selectors, services
from quarterdeck.strategy.models import CheckIn, Direction, KeyResult, Objective

router = Router(tags=["objectives"], auth=writer_auth)
key_results_router = Router(tags=["key results"], auth=writer_auth)

QUARTER = r"^[1-9]\d{3}-Q[1-4]$"


class KeyResultOut(Schema):
    id: int
    objective: int
    metric: str
    unit: str
    baseline: float
    target: float
    direction: str
    current: float | None = Field(description="The latest check-in's value.")
    progress: float | None = Field(description="Share of the way from baseline to target, 0–1.")
    created_at: dt.datetime
    updated_at: dt.datetime


class KeyResultPage(Schema):
    results: list[KeyResultOut]
    next: str | None


class KeyResultFields(In):
    metric: str = Field(min_length=1, max_length=200)
    unit: str = Field("", max_length=32)
    baseline: float
    target: float
    direction: Direction = Direction.INCREASE


class KeyResultCreate(KeyResultFields):
    objective: int = Field(description="Objective id.")


class KeyResultUpdate(In):
    metric: str = Field(None, min_length=1, max_length=200)
    unit: str = Field(None, max_length=32)
    baseline: float = None
    target: float = None
    direction: Direction = None


class ObjectiveOut(Schema):
    id: int
    title: str
    description: str
    quarter: str = Field(description="YYYY-Qn, e.g. 2026-Q4.")
    squad: int | None = Field(description="Squad id; null for a company-level objective.")
    owner: int | None
    key_results: list[KeyResultOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class ObjectivePage(Schema):
    results: list[ObjectiveOut]
    next: str | None


class ObjectiveCreate(In):
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    quarter: str = Field(pattern=QUARTER, description="YYYY-Qn, e.g. 2026-Q4.")
    squad: int | None = None
    owner: int | str | None = Field(None, description="User id or email of a member.")
    key_results: list[KeyResultFields] = Field(
        default_factory=list, description="Key results created with the objective."
    )


class ObjectiveReplace(In):
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    quarter: str = Field(pattern=QUARTER)
    squad: int | None = None
    owner: int | str | None = None


class ObjectiveUpdate(In):
    title: str = Field(None, min_length=1, max_length=200)
    description: str = None
    quarter: str = Field(None, pattern=QUARTER)
    squad: int | None = None
    owner: int | str | None = None


class CheckInOut(Schema):
    id: int
    key_result: int
    value: float
    confidence: float
    comment: str
    date: dt.date
    by: int | None
    created_at: dt.datetime


class CheckInPage(Schema):
    results: list[CheckInOut]
    next: str | None


class CheckInCreate(In):
    value: float
    confidence: float = Field(0.7, ge=0, le=1, description="0–1: how likely the target is met.")
    comment: str = ""
    date: dt.date | None = Field(None, description="Defaults to today.")


def _kr_out(kr: KeyResult) -> dict:
    return {
        "id": kr.pk,
        "objective": kr.objective_id,
        "metric": kr.metric,
        "unit": kr.unit,
        "baseline": kr.baseline,
        "target": kr.target,
        "direction": kr.direction,
        "current": kr.current,
        "progress": kr.progress,
        "created_at": kr.created_at,
        "updated_at": kr.updated_at,
    }


def _out(o: Objective) -> dict:
    return {
        "id": o.pk,
        "title": o.title,
        "description": o.description,
        "quarter": o.quarter,
        "squad": o.squad_id,
        "owner": o.owner_id,
        "key_results": [_kr_out(kr) for kr in o.key_results.all()],
        "created_at": o.created_at,
        "updated_at": o.updated_at,
    }


def _objectives(request):
    return Objective.objects.filter(workspace=request.workspace).prefetch_related(
        Prefetch("key_results", KeyResult.objects.order_by("id"))
    )


def _get(request, pk: int) -> Objective:
    return get_or_404(_objectives(request), pk, "objective")


def _fields(request, data: dict) -> dict:
    if "squad" in data:
        data["squad"] = one_in(
            Squad.objects.filter(workspace=request.workspace),
            data["squad"],
            field="squad",
            what="squad",
        )
    if "owner" in data:
        data["owner"] = member(request, data["owner"], field="owner")
    return data


def _kr_fields(data: dict) -> dict:
    if data.get("direction") is not None:
        data["direction"] = data["direction"].value
    return data


@router.get("", response={200: ObjectivePage, **READ_ERRORS}, summary="List objectives")
def list_objectives(
    request,
    quarter: str | None = None,
    squad: int | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    next: str | None = None,
):
    """Newest first, each with its key results; filter by quarter (YYYY-Qn) or squad id."""
    qs = _objectives(request)
    if quarter:
        qs = qs.filter(quarter=quarter)
    if squad:
        qs = qs.filter(squad_id=squad)
    rows, nxt = paginate(request, qs, **list_params(limit, cursor, next))
    return {"results": [_out(o) for o in rows], "next": nxt}


@router.post("", response={201: ObjectiveOut, **WRITE_ERRORS}, summary="Create an objective")
def create_objective(request, payload: ObjectiveCreate):
    """Admins and product managers only; `key_results` are created with it."""
    require_manage(request)
    data = _fields(request, payload.model_dump())
    key_results = data.pop("key_results")
    with transaction.atomic():
        objective = services.objective_create(workspace=request.workspace, by=request.user, **data)
        for kr in key_results:
            services.key_result_create(objective=objective, by=request.user, **_kr_fields(kr))
    return 201, _out(_get(request, objective.pk))


@router.get("/{id}", response={200: ObjectiveOut, **READ_ERRORS}, summary="Get an objective")
def get_objective(request, id: int):
    return _out(_get(request, id))


def _update(request, id: int, data: dict):
    require_manage(request)
    objective = _get(request, id)
    services.objective_update(objective=objective, by=request.user, **_fields(request, data))
    return _out(_get(request, id))


@router.patch("/{id}", response={200: ObjectiveOut, **WRITE_ERRORS}, summary="Update an objective")
def patch_objective(request, id: int, payload: ObjectiveUpdate):
    """Key results change at /api/v1/key-results/{id}."""
    return _update(request, id, payload.model_dump(exclude_unset=True))


@router.put("/{id}", response={200: ObjectiveOut, **WRITE_ERRORS}, summary="Replace an objective")
def put_objective(request, id: int, payload: ObjectiveReplace):
    return _update(request, id, payload.model_dump())


@router.delete("/{id}", response={204: None, **WRITE_ERRORS}, summary="Delete an objective")
def delete_objective(request, id: int):
    """Deletes its key results and their check-ins too."""
    require_manage(request)
    objective = _get(request, id)
    features = objective.key_results.values_list("features", flat=True)
    after = rescore(features)
    delete_with_activity(obj=objective, workspace=request.workspace, by=request.user, after=after)
    return 204, None


# Key results ---------------------------------------------------------------------------------


def _key_results(request):
    return selectors.key_results(request.workspace).order_by("id")


def _get_kr(request, pk: int) -> KeyResult:
    return get_or_404(_key_results(request), pk, "key result")


@key_results_router.get(
    "", response={200: KeyResultPage, **READ_ERRORS}, summary="List key results"
)
def list_key_results(
    request,
    objective: int | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    next: str | None = None,
):
    qs = _key_results(request)
    if objective:
        qs = qs.filter(objective_id=objective)
    rows, nxt = paginate(request, qs, **list_params(limit, cursor, next))
    return {"results": [_kr_out(kr) for kr in rows], "next": nxt}


@key_results_router.post(
    "", response={201: KeyResultOut, **WRITE_ERRORS}, summary="Create a key result"
)
def create_key_result(request, payload: KeyResultCreate):
    require_manage(request)
    data = _kr_fields(payload.model_dump())
    objective = one_in(
        Objective.objects.filter(workspace=request.workspace),
        data.pop("objective"),
        field="objective",
        what="objective",
    )
    kr = services.key_result_create(objective=objective, by=request.user, **data)
    return 201, _kr_out(_get_kr(request, kr.pk))


@key_results_router.get(
    "/{id}", response={200: KeyResultOut, **READ_ERRORS}, summary="Get a key result"
)
def get_key_result(request, id: int):
    return _kr_out(_get_kr(request, id))


def _update_kr(request, id: int, data: dict):
    require_manage(request)
    kr = _get_kr(request, id)
    services.key_result_update(key_result=kr, by=request.user, **_kr_fields(data))
    return _kr_out(_get_kr(request, id))


@key_results_router.patch(
    "/{id}", response={200: KeyResultOut, **WRITE_ERRORS}, summary="Update a key result"
)
def patch_key_result(request, id: int, payload: KeyResultUpdate):
    """The current value moves with check-ins, not here."""
    return _update_kr(request, id, payload.model_dump(exclude_unset=True))


@key_results_router.put(
    "/{id}", response={200: KeyResultOut, **WRITE_ERRORS}, summary="Replace a key result"
)
def put_key_result(request, id: int, payload: KeyResultFields):
    return _update_kr(request, id, payload.model_dump())


@key_results_router.delete(
    "/{id}", response={204: None, **WRITE_ERRORS}, summary="Delete a key result"
)
def delete_key_result(request, id: int):
    """Deletes its check-ins; features aiming at it are rescored."""
    require_manage(request)
    kr = _get_kr(request, id)
    after = rescore(kr.features.values_list("id", flat=True))
    delete_with_activity(obj=kr, workspace=request.workspace, by=request.user, after=after)
    return 204, None


def _check_in_out(c: CheckIn) -> dict:
    return {
        "id": c.pk,
        "key_result": c.key_result_id,
        "value": c.value,
        "confidence": c.confidence,
        "comment": c.comment,
        "date": c.checked_on,
        "by": c.by_id,
        "created_at": c.created_at,
    }


@key_results_router.get(
    "/{id}/check-ins",
    response={200: CheckInPage, **READ_ERRORS},
    summary="List a key result's check-ins",
)
def list_check_ins(
    request,
    id: int,
    limit: int | None = None,
    cursor: str | None = None,
    next: str | None = None,
):
    """Newest recorded first: the dated history of the key result's value."""
    kr = _get_kr(request, id)
    rows, nxt = paginate(request, kr.check_ins.all(), **list_params(limit, cursor, next))
    return {"results": [_check_in_out(c) for c in rows], "next": nxt}


@key_results_router.post(
    "/{id}/check-ins",
    response={201: CheckInOut, **WRITE_ERRORS},
    summary="Record a check-in",
)
def create_check_in(request, id: int, payload: CheckInCreate):
    """The key result's `current` becomes the value of its latest check-in (by date)."""
    kr = _get_kr(request, id)
    check_in = services.check_in_create(
        key_result=kr,
        by=request.user,
        value=payload.value,
        confidence=payload.confidence,
        comment=payload.comment,
        checked_on=payload.date,
    )
    return 201, _check_in_out(check_in)
