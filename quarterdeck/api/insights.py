"""`/api/v1/insights`: evidence from every channel; POST is idempotent on source + external id."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from ninja import Field, Router, Schema

from quarterdeck.api.base import delete_with_activity, get_or_404, paginate, writer_auth
from quarterdeck.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    In,
    aware,
    conflict,
    invalid,
    list_params,
    rescore,
)
from quarterdeck.backlog.models import Feature
from quarterdeck.insights import selectors, services
from quarterdeck.insights.models import Channel, Importance, Insight, InsightLink, InsightState

router = Router(tags=["insights"], auth=writer_auth)


class InsightOut(Schema):
    id: int
    text: str
    source: str
    channel: str
    external_id: str
    stakeholder: int | None = Field(description="Stakeholder id.")
    segment: str | None = Field(description="Segment key, e.g. `student`.")
    captured_at: dt.datetime
    state: str
    importance: int | None = Field(description="1 nice to have, 2 important, 3 critical.")
    tags: list[str]
    needs: list[int] = Field(description="Ids of the needs this insight is linked to.")
    created_at: dt.datetime
    updated_at: dt.datetime


class InsightPage(Schema):
    results: list[InsightOut]
    next: str | None = Field(description="Cursor of the next page; null on the last page.")


class InsightCreate(In):
    text: str = Field(min_length=1)
    source: str = Field(
        "api",
        max_length=64,
        description="A channel (interview, support…) or an integration's name.",
    )
    channel: Channel | None = Field(None, description="Defaults from the source.")
    external_id: str = Field(
        "",
        max_length=200,
        description="The id in the source; POSTing it again updates the same insight.",
    )
    stakeholder: int | None = Field(None, description="Stakeholder id.")
    stakeholder_email: str | None = Field(
        None, max_length=254, description="Finds the stakeholder by email, creating it if new."
    )
    stakeholder_name: str | None = Field(
        None, max_length=150, description="Name for a stakeholder created from its email."
    )
    segment: str | None = Field(
        None, description="Segment key; defaults to the stakeholder's segment."
    )
    captured_at: dt.datetime | None = None
    importance: Importance | None = None
    state: InsightState | None = None
    tags: list[str] | None = None


class InsightUpdate(In):
    text: str = Field(None, min_length=1)
    source: str = Field(None, max_length=64)
    channel: Channel = None
    external_id: str = Field(None, max_length=200)
    stakeholder: int | None = None
    stakeholder_email: str | None = Field(None, max_length=254)
    stakeholder_name: str | None = Field(None, max_length=150)
    segment: str | None = None
    captured_at: dt.datetime = None
    importance: Importance | None = None
    state: InsightState = None
    tags: list[str] = None


def _out(insight: Insight, needs: list[int] | None = None) -> dict:
    if needs is None:
        needs = sorted(insight.links.values_list("need_id", flat=True))
    return {
        "id": insight.pk,
        "text": insight.text,
        "source": insight.source,
        "channel": insight.channel,
        "external_id": insight.external_id,
        "stakeholder": insight.stakeholder_id,
        "segment": insight.segment.key if insight.segment_id else None,
        "captured_at": insight.captured_at,
        "state": insight.state,
        "importance": insight.importance,
        "tags": insight.tags or [],
        "needs": needs,
        "created_at": insight.created_at,
        "updated_at": insight.updated_at,
    }


def _fields(request, data: dict, *, replace: bool = False) -> dict:
    """Payload values → service keyword arguments (ids and keys resolved in the workspace).
    With `replace` (PUT), a missing segment is the stakeholder's, as on creation."""
    ws = request.workspace
    email = data.pop("stakeholder_email", None)
    name = data.pop("stakeholder_name", None)
    if "stakeholder" in data and data["stakeholder"] is not None and email:
        raise invalid("stakeholder_email", "Give either stakeholder or stakeholder_email.")
    if "stakeholder" in data:
        pk = data["stakeholder"]
        data["stakeholder"] = None
        if pk is not None:
            data["stakeholder"] = selectors.stakeholders(ws).filter(pk=pk).first()
            if data["stakeholder"] is None:
                raise invalid("stakeholder", f"No stakeholder {pk} in this workspace.")
    if "segment" in data:
        data["segment"] = services.segment_by_key(ws, data["segment"])
    if email:
        try:
            data["stakeholder"] = services.stakeholder_for_email(
                workspace=ws,
                email=email,
                name=name or "",
                segment=data.get("segment"),
                by=request.user,
            )
        except ValidationError as exc:
            messages = [m for ms in exc.message_dict.values() for m in ms]
            raise invalid("stakeholder_email", " ".join(messages)) from exc
    elif name:
        raise invalid("stakeholder_name", "A stakeholder name goes with stakeholder_email.")
    if "segment" in data and data["segment"] is None and data.get("stakeholder") and replace:
        data["segment"] = data["stakeholder"].segment
    if data.get("captured_at") is not None:
        data["captured_at"] = aware(data["captured_at"])
    for key in ("channel", "state", "importance"):
        if data.get(key) is not None:
            data[key] = data[key].value
    return data


@router.get("", response={200: InsightPage, **READ_ERRORS}, summary="List insights")
def list_insights(
    request,
    state: InsightState | None = None,
    source: str | None = None,
    external_id: str | None = None,
    segment: str | None = None,
    stakeholder: int | None = None,
    tag: str | None = None,
    q: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    next: str | None = None,
):
    """Newest first (by id); filter by state, source, external id, segment key, stakeholder id,
    tag or a text search `q`. Follow `next` (as `cursor` or `next`) for the following page."""
    if segment:
        services.segment_by_key(request.workspace, segment)
    qs = selectors.inbox_queryset(
        request.workspace,
        state=state.value if state else None,
        segment=segment,
        source=source,
        stakeholder=stakeholder,
        q=q,
        external_id=external_id,
        tag=tag,
    )
    rows, nxt = paginate(request, qs, **list_params(limit, cursor, next))
    needs: dict[int, list[int]] = {row.pk: [] for row in rows}
    links = InsightLink.objects.filter(insight_id__in=needs).values_list("insight_id", "need_id")
    for insight_id, need_id in links.order_by("need_id"):
        needs[insight_id].append(need_id)
    return {"results": [_out(row, needs[row.pk]) for row in rows], "next": nxt}


@router.post(
    "",
    response={200: InsightOut, 201: InsightOut, **WRITE_ERRORS},
    summary="Create an insight (or update the one with the same source + external id)",
)
def create_insight(request, payload: InsightCreate):
    """201 with the new insight; when `source` + `external_id` match an existing insight, that
    insight is updated with the fields sent and returned with 200 (imports are idempotent)."""
    data = payload.model_dump(exclude_unset=True)
    source = data.pop("source", "api")
    external_id = (data.pop("external_id", "") or "").strip()
    with transaction.atomic():
        fields = _fields(request, data)
        if external_id:
            insight, created = services.insight_upsert(
                workspace=request.workspace,
                by=request.user,
                source=source,
                external_id=external_id,
                **fields,
            )
        else:
            insight = services.insight_create(
                workspace=request.workspace, by=request.user, source=source, **fields
            )
            created = True
    return (201 if created else 200), _out(_get(request, insight.pk))


def _get(request, pk: int) -> Insight:
    qs = Insight.objects.filter(workspace=request.workspace).select_related("segment")
    return get_or_404(qs, pk, "insight")


@router.get("/{id}", response={200: InsightOut, **READ_ERRORS}, summary="Get an insight")
def get_insight(request, id: int):
    return _out(_get(request, id))


def _update(request, id: int, data: dict, *, replace: bool = False):
    insight = _get(request, id)
    source = data.get("source", insight.source)
    external_id = (data.get("external_id", insight.external_id) or "").strip()
    if "external_id" in data:
        data["external_id"] = external_id
    if ("source" in data or "external_id" in data) and external_id:
        clash = (
            Insight.objects.filter(
                workspace=request.workspace, source=source, external_id=external_id
            )
            .exclude(pk=insight.pk)
            .values_list("pk", flat=True)
            .first()
        )
        if clash:
            message = f"Insight {clash} already has this source and external id."
            raise conflict("external_id", message, clash)
    with transaction.atomic():
        fields = _fields(request, data, replace=replace)
        services.insight_update(insight=insight, by=request.user, **fields)
    return _out(_get(request, id))


@router.patch("/{id}", response={200: InsightOut, **WRITE_ERRORS}, summary="Update an insight")
def patch_insight(request, id: int, payload: InsightUpdate):
    """Only the fields sent change; `stakeholder`/`segment` may be set to null."""
    return _update(request, id, payload.model_dump(exclude_unset=True))


@router.put("/{id}", response={200: InsightOut, **WRITE_ERRORS}, summary="Replace an insight")
def put_insight(request, id: int, payload: InsightCreate):
    """Every field is set: those left out go back to their defaults."""
    data = payload.model_dump()
    data["channel"] = data["channel"] or Channel(services.channel_for(data["source"]))
    data["state"] = data["state"] or InsightState.NEW
    data["tags"] = data["tags"] or []
    if data["captured_at"] is None:
        data.pop("captured_at")
    if not data["stakeholder_email"]:
        data.pop("stakeholder_email")
        data.pop("stakeholder_name")
    return _update(request, id, data, replace=True)


@router.delete("/{id}", response={204: None, **WRITE_ERRORS}, summary="Delete an insight")
def delete_insight(request, id: int):
    """Deletes the insight and its links to needs (archive it instead with
    `PATCH {"state": "archived"}` to keep the evidence)."""
    insight = _get(request, id)
    features = Feature.objects.filter(needs__links__insight=insight)
    after = rescore(features.values_list("id", flat=True))
    delete_with_activity(obj=insight, workspace=request.workspace, by=request.user, after=after)
    return 204, None
