"""`/api/v1/needs`: user problems in the users' words, and the insights that evidence them."""

import datetime as dt

from django.db import transaction
from django.db.models import Count
from ninja import Field, Router, Schema

from quarterdeck.api.base import Problem, delete_with_activity, get_or_404, paginate, writer_auth
from quarterdeck.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    In,
    list_params,
    one_in,
    rescore,
    segments_by_key,
)
from quarterdeck.insights import selectors, services
from quarterdeck.insights.models import Importance, InsightLink, Need, NeedState

router = Router(tags=["needs"], auth=writer_auth)


class NeedOut(Schema):
    id: int
    title: str
    description: str
    segments: list[str] = Field(description="Keys of the segments affected.")
    state: str
    insight_count: int = Field(description="Number of insights linked to this need.")
    created_at: dt.datetime
    updated_at: dt.datetime


class NeedPage(Schema):
    results: list[NeedOut]
    next: str | None


class NeedCreate(In):
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    segments: list[str] = Field(default_factory=list, description="Segment keys.")
    state: NeedState = NeedState.OPEN


class NeedUpdate(In):
    title: str = Field(None, min_length=1, max_length=200)
    description: str = None
    segments: list[str] = None
    state: NeedState = None


class LinkIn(In):
    insight: int = Field(description="Insight id.")
    highlight: str = Field("", description="A quote taken from the insight's text.")
    importance: Importance = Importance.IMPORTANT


class LinkOut(Schema):
    need: int
    insight: int
    highlight: str
    importance: int
    linked_by: int | None
    created_at: dt.datetime


def _queryset(request):
    return (
        Need.objects.filter(workspace=request.workspace)
        .annotate(insight_count=Count("links", distinct=True))
        .prefetch_related("segments")
    )


def _get(request, pk: int) -> Need:
    return get_or_404(_queryset(request), pk, "need")


def _out(need: Need) -> dict:
    return {
        "id": need.pk,
        "title": need.title,
        "description": need.description,
        "segments": sorted(s.key for s in need.segments.all()),
        "state": need.state,
        "insight_count": need.insight_count,
        "created_at": need.created_at,
        "updated_at": need.updated_at,
    }


def _fields(request, data: dict) -> dict:
    if data.get("segments") is not None:
        data["segments"] = segments_by_key(request.workspace, data["segments"], field="segments")
    if data.get("state") is not None:
        data["state"] = data["state"].value
    return data


@router.get("", response={200: NeedPage, **READ_ERRORS}, summary="List needs")
def list_needs(
    request,
    q: str | None = None,
    segment: str | None = None,
    state: NeedState | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    next: str | None = None,
):
    """Newest first; filter by a text search `q`, a segment key or the state."""
    if segment:
        services.segment_by_key(request.workspace, segment)
    qs = selectors.needs_list(
        request.workspace, q=q, segment=segment, state=state.value if state else None
    )
    rows, nxt = paginate(request, qs, **list_params(limit, cursor, next))
    return {"results": [_out(n) for n in rows], "next": nxt}


@router.post("", response={201: NeedOut, **WRITE_ERRORS}, summary="Create a need")
def create_need(request, payload: NeedCreate):
    data = _fields(request, payload.model_dump())
    state = data.pop("state")
    with transaction.atomic():
        need = services.need_create(workspace=request.workspace, by=request.user, **data)
        if state != NeedState.OPEN:
            services.need_update(need=need, by=request.user, state=state)
    return 201, _out(_get(request, need.pk))


@router.get("/{id}", response={200: NeedOut, **READ_ERRORS}, summary="Get a need")
def get_need(request, id: int):
    return _out(_get(request, id))


def _update(request, id: int, data: dict):
    need = _get(request, id)
    services.need_update(need=need, by=request.user, **_fields(request, data))
    return _out(_get(request, id))


@router.patch("/{id}", response={200: NeedOut, **WRITE_ERRORS}, summary="Update a need")
def patch_need(request, id: int, payload: NeedUpdate):
    return _update(request, id, payload.model_dump(exclude_unset=True))


@router.put("/{id}", response={200: NeedOut, **WRITE_ERRORS}, summary="Replace a need")
def put_need(request, id: int, payload: NeedCreate):
    return _update(request, id, payload.model_dump())


@router.delete("/{id}", response={204: None, **WRITE_ERRORS}, summary="Delete a need")
def delete_need(request, id: int):
    """Deletes the need and its links; the insights stay, and features no longer answer it."""
    need = _get(request, id)
    after = rescore(need.features.values_list("id", flat=True))
    delete_with_activity(obj=need, workspace=request.workspace, by=request.user, after=after)
    return 204, None


def _link_out(link: InsightLink) -> dict:
    return {
        "need": link.need_id,
        "insight": link.insight_id,
        "highlight": link.highlight,
        "importance": link.importance,
        "linked_by": link.linked_by_id,
        "created_at": link.created_at,
    }


@router.get(
    "/{id}/insights",
    response={200: list[LinkOut], **READ_ERRORS},
    summary="List the insights linked to a need",
)
def list_need_links(request, id: int):
    need = _get(request, id)
    return [_link_out(link) for link in selectors.need_links(need)]


@router.post(
    "/{id}/insights",
    response={201: LinkOut, **WRITE_ERRORS},
    summary="Link an insight to a need",
)
def link_insight(request, id: int, payload: LinkIn):
    """Links (or re-links, updating highlight and importance) an insight as evidence."""
    need = _get(request, id)
    insight = one_in(
        selectors.inbox_queryset(request.workspace),
        payload.insight,
        field="insight",
        what="insight",
    )
    link = services.insight_link(
        insight=insight,
        need=need,
        by=request.user,
        highlight=payload.highlight,
        importance=payload.importance.value,
    )
    return 201, _link_out(link)


@router.delete(
    "/{id}/insights/{insight_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Unlink an insight from a need",
)
def unlink_insight(request, id: int, insight_id: int):
    need = _get(request, id)
    link = (
        InsightLink.objects.filter(need=need, insight_id=insight_id)
        .select_related("insight", "need")
        .first()
    )
    if link is None:
        raise Problem(404, "Not found", f"Insight {insight_id} is not linked to need {id}.")
    services.insight_unlink(link=link, by=request.user)
    return 204, None
