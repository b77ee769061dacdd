"""`/api/v1/features`: the backlog (initiatives → features → slices) and its status moves."""

import datetime as dt
from typing import Literal

from django.db import transaction
from django.db.models import Prefetch
from ninja import Field, Router, Schema

from quarterdeck.api.base import Problem, delete_with_activity, get_or_404, paginate, writer_auth
from quarterdeck.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    In,
    invalid,
    list_params,
    many_in,
    member,
    one_in,
)
from quarterdeck.backlog import selectors, services
from quarterdeck.backlog.models import Feature, FeatureDriver, Status
from quarterdeck.insights.models import Need
from quarterdeck.squads.models import Squad
from quarterdeck.strategy.models import Driver, KeyResult

router = Router(tags=["features"], auth=writer_auth)

TRANSITION_HINT = "Change the status with POST /api/v1/features/{id}/transition."


def _prefetch() -> tuple[Prefetch, ...]:
    return (
        Prefetch("needs", Need.objects.only("id")),
        Prefetch("key_results", KeyResult.objects.only("id")),
        Prefetch("driver_links", FeatureDriver.objects.select_related("driver")),
    )


class DriverLinkOut(Schema):
    driver: int
    name: str
    contribution: int = Field(description="0 (none) to 3 (strong).")


class DriverLinkIn(In):
    driver: int = Field(description="Driver id.")
    contribution: int = Field(ge=0, le=3, description="0 (none) to 3 (strong).")


class FeatureOut(Schema):
    id: int
    title: str
    description: str
    status: str
    parent: int | None = Field(description="Id of the feature this is a slice of.")
    squad: int | None
    owner: int | None = Field(description="User id of the owner (a product manager).")
    needs: list[int]
    drivers: list[DriverLinkOut]
    key_results: list[int]
    score: float | None = Field(description="Priority score under the workspace's framework.")
    expected_outcomes: str
    target_release: dt.date | None
    decline_reason: str
    status_changed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class FeaturePage(Schema):
    results: list[FeatureOut]
    next: str | None


class FeatureCreate(In):
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    status: Literal["new", "under_consideration"] = Field(
        "new", description="A feature starts as new or under consideration."
    )
    parent: int | None = None
    squad: int | None = None
    owner: int | str | None = Field(None, description="User id or email of a member.")
    needs: list[int] = Field(default_factory=list)
    drivers: list[DriverLinkIn] = Field(default_factory=list)
    key_results: list[int] = Field(default_factory=list)
    expected_outcomes: str = ""
    target_release: dt.date | None = None


class FeatureReplace(In):
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    status: str | None = Field(None, description="Refused unless unchanged; use /transition.")
    parent: int | None = None
    squad: int | None = None
    owner: int | str | None = None
    needs: list[int] = Field(default_factory=list)
    drivers: list[DriverLinkIn] = Field(default_factory=list)
    key_results: list[int] = Field(default_factory=list)
    expected_outcomes: str = ""
    target_release: dt.date | None = None


class FeatureUpdate(In):
    title: str = Field(None, min_length=1, max_length=200)
    description: str = None
    status: str | None = Field(None, description="Refused: use /transition.")
    parent: int | None = None
    squad: int | None = None
    owner: int | str | None = None
    needs: list[int] = None
    drivers: list[DriverLinkIn] = None
    key_results: list[int] = None
    expected_outcomes: str = None
    target_release: dt.date | None = None


class TransitionIn(In):
    to: Status = Field(description="The status to move to.")
    reason: str = Field("", description="Required when declining; told to the requesters.")


def _queryset(request):
    return (
        Feature.objects.filter(workspace=request.workspace)
        .select_related("squad", "owner", "parent")
        .prefetch_related(*_prefetch())
    )


def _get(request, pk: int) -> Feature:
    return get_or_404(_queryset(request), pk, "feature")


def _out(f: Feature) -> dict:
    return {
        "id": f.pk,
        "title": f.title,
        "description": f.description,
        "status": f.status,
        "parent": f.parent_id,
        "squad": f.squad_id,
        "owner": f.owner_id,
        "needs": sorted(n.pk for n in f.needs.all()),
        "drivers": [
            {"driver": fd.driver_id, "name": fd.driver.name, "contribution": fd.contribution}
            for fd in sorted(f.driver_links.all(), key=lambda fd: fd.driver_id)
        ],
        "key_results": sorted(kr.pk for kr in f.key_results.all()),
        "score": f.score,
        "expected_outcomes": f.expected_outcomes,
        "target_release": f.target_release,
        "decline_reason": f.decline_reason,
        "status_changed_at": f.status_changed_at,
        "created_at": f.created_at,
        "updated_at": f.updated_at,
    }


def _fields(request, data: dict) -> dict:
    """Payload ids → objects of the token's workspace (400 naming the field otherwise)."""
    ws = request.workspace
    if "parent" in data:
        data["parent"] = one_in(
            Feature.objects.filter(workspace=ws), data["parent"], field="parent", what="feature"
        )
    if "squad" in data:
        data["squad"] = one_in(
            Squad.objects.filter(workspace=ws), data["squad"], field="squad", what="squad"
        )
    if "owner" in data:
        data["owner"] = member(request, data["owner"], field="owner")
    if data.get("needs") is not None:
        data["needs"] = many_in(
            Need.objects.filter(workspace=ws), data["needs"], field="needs", what="need"
        )
    if data.get("key_results") is not None:
        data["key_results"] = many_in(
            KeyResult.objects.filter(objective__workspace=ws).select_related("objective"),
            data["key_results"],
            field="key_results",
            what="key result",
        )
    if data.get("drivers") is not None:
        links = data["drivers"]
        drivers = many_in(
            Driver.objects.filter(workspace=ws),
            [link["driver"] for link in links],
            field="drivers",
            what="driver",
        )
        by_id = {d.pk: d for d in drivers}
        data["drivers"] = {by_id[link["driver"]]: link["contribution"] for link in links}
    return data


@router.get("", response={200: FeaturePage, **READ_ERRORS}, summary="List features")
def list_features(
    request,
    status: Status | None = None,
    squad: int | None = None,
    parent: int | None = None,
    q: str | None = None,
    ordering: Literal["-score", "score", "created", "-created", "title", "-title"] | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    next: str | None = None,
):
    """Newest first by default; `ordering=-score` lists the best-scored first (unscored last)."""
    qs = selectors.backlog_queryset(
        request.workspace,
        status=status.value if status else None,
        squad=squad,
        parent=parent,
        q=q,
        ordering=ordering,
    ).prefetch_related(*_prefetch())
    rows, nxt = paginate(request, qs, keyset=not ordering, **list_params(limit, cursor, next))
    return {"results": [_out(f) for f in rows], "next": nxt}


@router.post("", response={201: FeatureOut, **WRITE_ERRORS}, summary="Create a feature")
def create_feature(request, payload: FeatureCreate):
    """A slice is a feature with a `parent`; `drivers` lists `{driver, contribution}`."""
    data = _fields(request, payload.model_dump())
    feature = services.feature_create(workspace=request.workspace, by=request.user, **data)
    return 201, _out(_get(request, feature.pk))


@router.get("/{id}", response={200: FeatureOut, **READ_ERRORS}, summary="Get a feature")
def get_feature(request, id: int):
    return _out(_get(request, id))


def _update(request, id: int, data: dict):
    feature = _get(request, id)
    status = data.pop("status", None)
    if status is not None and status != feature.status:
        raise invalid("status", TRANSITION_HINT.replace("{id}", str(id)))
    with transaction.atomic():
        services.feature_update(feature=feature, by=request.user, **_fields(request, data))
    return _out(_get(request, id))


@router.patch("/{id}", response={200: FeatureOut, **WRITE_ERRORS}, summary="Update a feature")
def patch_feature(request, id: int, payload: FeatureUpdate):
    """Only the fields sent change; `needs`, `drivers` and `key_results` are replaced as a whole.
    The status is not set here: use the transition endpoint."""
    data = payload.model_dump(exclude_unset=True)
    if "status" in data:
        raise invalid("status", TRANSITION_HINT.replace("{id}", str(id)))
    return _update(request, id, data)


@router.put("/{id}", response={200: FeatureOut, **WRITE_ERRORS}, summary="Replace a feature")
def put_feature(request, id: int, payload: FeatureReplace):
    return _update(request, id, payload.model_dump())


@router.delete("/{id}", response={204: None, **WRITE_ERRORS}, summary="Delete a feature")
def delete_feature(request, id: int):
    """409 while the feature has slices: delete or move them first."""
    feature = _get(request, id)
    slices = list(feature.children.values_list("id", flat=True)[:20])
    if slices:
        message = "This feature has slices; delete or move them first."
        raise Problem(409, "Conflict", message, {"children": [message]}, children=slices)
    delete_with_activity(obj=feature, workspace=request.workspace, by=request.user)
    return 204, None


@router.post(
    "/{id}/transition",
    response={200: FeatureOut, **WRITE_ERRORS},
    summary="Move a feature to another status",
)
def transition_feature(request, id: int, payload: TransitionIn):
    """409 when the state machine refuses the move: `guard` names the first failed guard
    (e.g. `reason_required`), `guards` all of them, and `errors.to` their messages."""
    feature = _get(request, id)
    try:
        services.feature_transition(
            feature=feature, to=payload.to.value, by=request.user, reason=payload.reason
        )
    except services.TransitionRefused as exc:
        messages = [r.message for r in exc.refusals]
        raise Problem(
            409,
            "Transition refused",
            " ".join(messages),
            {"to": messages},
            guard=exc.guard,
            guards=[r.guard for r in exc.refusals],
        ) from exc
    return _out(_get(request, id))
