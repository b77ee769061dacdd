"""`/api/v1/stakeholders`: the people and organisations insights come from."""

import datetime as dt

from ninja import Field, Router, Schema

from quarterdeck.api.base import delete_with_activity, get_or_404, paginate, writer_auth
from quarterdeck.api.schemas import READ_ERRORS, WRITE_ERRORS, In, conflict, list_params, rescore
from quarterdeck.backlog.models import Feature
from quarterdeck.insights import selectors, services
from quarterdeck.insights.models import Stakeholder

router = Router(tags=["stakeholders"], auth=writer_auth)


class StakeholderOut(Schema):
    id: int
    name: str
    email: str
    segment: str | None = Field(description="Segment key, e.g. `student`.")
    organisation: str
    weight: float
    notes: str
    created_at: dt.datetime
    updated_at: dt.datetime


class StakeholderPage(Schema):
    results: list[StakeholderOut]
    next: str | None


class StakeholderCreate(In):
    name: str = Field(min_length=1, max_length=150)
    email: str = Field("", max_length=254)
    segment: str | None = Field(None, description="Segment key.")
    organisation: str = Field("", max_length=150)
    weight: float = Field(1.0, ge=0, description="E.g. account value; 1 by default.")
    notes: str = ""


class StakeholderUpdate(In):
    name: str = Field(None, min_length=1, max_length=150)
    email: str = Field(None, max_length=254)
    segment: str | None = None
    organisation: str = Field(None, max_length=150)
    weight: float = Field(None, ge=0)
    notes: str = None


def _out(s: Stakeholder) -> dict:
    return {
        "id": s.pk,
        "name": s.name,
        "email": s.email,
        "segment": s.segment.key if s.segment_id else None,
        "organisation": s.organisation,
        "weight": s.weight,
        "notes": s.notes,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    }


def _get(request, pk: int) -> Stakeholder:
    return get_or_404(selectors.stakeholders(request.workspace), pk, "stakeholder")


def _fields(request, data: dict, current: Stakeholder | None = None) -> dict:
    if "segment" in data:
        data["segment"] = services.segment_by_key(request.workspace, data["segment"])
    email = (data.get("email") or "").strip().lower()
    if email:
        clash = selectors.stakeholders(request.workspace).filter(email=email)
        if current is not None:
            clash = clash.exclude(pk=current.pk)
        existing = clash.values_list("pk", flat=True).first()
        if existing:
            raise conflict("email", f"Stakeholder {existing} already has this email.", existing)
    return data


@router.get("", response={200: StakeholderPage, **READ_ERRORS}, summary="List stakeholders")
def list_stakeholders(
    request,
    q: str | None = None,
    email: str | None = None,
    segment: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    next: str | None = None,
):
    """Newest first; `q` searches name, email and organisation."""
    qs = selectors.stakeholders(request.workspace, q=q)
    if email:
        qs = qs.filter(email=email.strip().lower())
    if segment:
        qs = qs.filter(segment=services.segment_by_key(request.workspace, segment))
    rows, nxt = paginate(request, qs, **list_params(limit, cursor, next))
    return {"results": [_out(s) for s in rows], "next": nxt}


@router.post("", response={201: StakeholderOut, **WRITE_ERRORS}, summary="Create a stakeholder")
def create_stakeholder(request, payload: StakeholderCreate):
    """409 when another stakeholder of the workspace has the same email."""
    data = _fields(request, payload.model_dump())
    stakeholder = services.stakeholder_create(workspace=request.workspace, by=request.user, **data)
    return 201, _out(_get(request, stakeholder.pk))


@router.get("/{id}", response={200: StakeholderOut, **READ_ERRORS}, summary="Get a stakeholder")
def get_stakeholder(request, id: int):
    return _out(_get(request, id))


def _update(request, id: int, data: dict):
    stakeholder = _get(request, id)
    services.stakeholder_update(
        stakeholder=stakeholder, by=request.user, **_fields(request, data, stakeholder)
    )
    return _out(_get(request, id))


@router.patch(
    "/{id}", response={200: StakeholderOut, **WRITE_ERRORS}, summary="Update a stakeholder"
)
def patch_stakeholder(request, id: int, payload: StakeholderUpdate):
    return _update(request, id, payload.model_dump(exclude_unset=True))


@router.put(
    "/{id}", response={200: StakeholderOut, **WRITE_ERRORS}, summary="Replace a stakeholder"
)
def put_stakeholder(request, id: int, payload: StakeholderCreate):
    return _update(request, id, payload.model_dump())


@router.delete("/{id}", response={204: None, **WRITE_ERRORS}, summary="Delete a stakeholder")
def delete_stakeholder(request, id: int):
    """Their insights stay, without a stakeholder."""
    stakeholder = _get(request, id)
    features = Feature.objects.filter(needs__links__insight__stakeholder=stakeholder)
    after = rescore(features.values_list("id", flat=True))
    delete_with_activity(obj=stakeholder, workspace=request.workspace, by=request.user, after=after)
    return 204, None
