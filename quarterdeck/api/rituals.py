"""`/api/v1/meetings` and `/api/v1/newsletters`: review meetings with their generated agenda and
decisions, and the monthly newsletter (draft generation, edits, publication)."""

import datetime as dt
from typing import Literal

from ninja import Field, Router, Schema

from quarterdeck.api.base import Problem, get_or_404, paginate, require_manage
from quarterdeck.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    In,
    aware,
    invalid,
    list_params,
    many_in,
    one_in,
)
from quarterdeck.backlog.models import Feature
from quarterdeck.insights.models import Segment, Stakeholder
from quarterdeck.rituals import newsletter as newsletter_lib
from quarterdeck.rituals import selectors, services
from quarterdeck.rituals.models import Decision, Meeting, Newsletter
from quarterdeck.squads.models import Squad

meetings_router = Router(tags=["meetings"])
newsletters_router = Router(tags=["newsletters"])


# --- meetings ---------------------------------------------------------------------------------


class DecisionOut(Schema):
    id: int
    text: str
    features: list[int]
    move_to: str = Field(description="Status the features were moved to; empty: no move.")
    reason: str
    by: int | None
    created_at: dt.datetime


class MeetingOut(Schema):
    id: int
    kind: str
    title: str
    scheduled_at: dt.datetime
    duration_minutes: int
    segment: str | None = Field(description="Key of the stakeholder group (segment).")
    squad: int | None
    attendee_users: list[int]
    attendee_stakeholders: list[int]
    agenda: dict = Field(description="The generated agenda (a snapshot, JSON).")
    agenda_generated_at: dt.datetime | None
    notes: str
    attachments: str
    decisions: list[DecisionOut]
    minutes_sent_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class MeetingSummary(Schema):
    id: int
    kind: str
    title: str
    scheduled_at: dt.datetime
    segment: str | None
    squad: int | None
    decision_count: int


class MeetingPage(Schema):
    results: list[MeetingSummary]
    next: str | None


class MeetingCreate(In):
    kind: Literal["priority_review", "insights_review", "demo"]
    scheduled_at: dt.datetime
    title: str = Field("", max_length=200)
    duration_minutes: int = Field(60, ge=5, le=1440)
    segment: str | int | None = Field(None, description="Segment key or id (priority review).")
    squad: int | None = Field(None, description="Squad id (required for an insights review).")
    attendee_users: list[int] = Field(default_factory=list)
    attendee_stakeholders: list[int] = Field(default_factory=list)
    notes: str = ""
    attachments: str = ""


class MeetingUpdate(In):
    title: str = Field(None, max_length=200)
    scheduled_at: dt.datetime = None
    duration_minutes: int = Field(None, ge=5, le=1440)
    notes: str = None
    attachments: str = None
    attendee_users: list[int] = None
    attendee_stakeholders: list[int] = None


class DecisionIn(In):
    text: str = Field(min_length=1)
    features: list[int] = Field(default_factory=list)
    move_to: str = Field("", description="Move every listed feature to this status.")
    reason: str = ""


class MinutesOut(Schema):
    recipients: int


def _decision(d: Decision) -> dict:
    return {
        "id": d.pk,
        "text": d.text,
        "features": sorted(f.pk for f in d.features.all()),
        "move_to": d.move_to,
        "reason": d.reason,
        "by": d.by_id,
        "created_at": d.created_at,
    }


def _meeting(m: Meeting) -> dict:
    return {
        "id": m.pk,
        "kind": m.kind,
        "title": m.title,
        "scheduled_at": m.scheduled_at,
        "duration_minutes": m.duration_minutes,
        "segment": m.segment.key if m.segment_id else None,
        "squad": m.squad_id,
        "attendee_users": sorted(u.pk for u in m.attendee_users.all()),
        "attendee_stakeholders": sorted(s.pk for s in m.attendee_stakeholders.all()),
        "agenda": m.agenda,
        "agenda_generated_at": m.agenda_generated_at,
        "notes": m.notes,
        "attachments": m.attachments,
        "decisions": [_decision(d) for d in m.decisions.all()],
        "minutes_sent_at": m.minutes_sent_at,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
    }


def _get_meeting(request, pk: int) -> Meeting:
    get_or_404(Meeting.objects.filter(workspace=request.workspace), pk, "meeting")
    return selectors.meeting_detail(request.workspace, pk)


def _segment(request, value):
    if value is None:
        return None
    qs = Segment.objects.filter(workspace=request.workspace)
    segment = (
        qs.filter(pk=value).first()
        if isinstance(value, int)
        else qs.filter(key=str(value).strip().lower()).first()
    )
    if segment is None:
        raise invalid("segment", f"No segment {value} in this workspace.")
    return segment


def _attendees(request, users, stakeholders) -> dict:
    from quarterdeck.accounts.models import User

    out = {}
    if users is not None:
        out["attendee_users"] = many_in(
            User.objects.filter(memberships__workspace=request.workspace),
            users,
            field="attendee_users",
            what="member",
        )
    if stakeholders is not None:
        out["attendee_stakeholders"] = many_in(
            Stakeholder.objects.filter(workspace=request.workspace),
            stakeholders,
            field="attendee_stakeholders",
            what="stakeholder",
        )
    return out


@meetings_router.get("", response={200: MeetingPage, **READ_ERRORS}, summary="List meetings")
def list_meetings(
    request,
    kind: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    next: str | None = None,  # noqa: A002 - the documented cursor parameter
):
    rows, nxt = paginate(
        request,
        selectors.meetings(request.workspace, kind=kind),
        **list_params(limit, cursor, next),
    )
    return {
        "results": [
            {
                "id": m.pk,
                "kind": m.kind,
                "title": m.title,
                "scheduled_at": m.scheduled_at,
                "segment": m.segment.key if m.segment_id else None,
                "squad": m.squad_id,
                "decision_count": m.decision_count,
            }
            for m in rows
        ],
        "next": nxt,
    }


@meetings_router.post(
    "", response={201: MeetingOut, **WRITE_ERRORS}, summary="Plan a meeting (agenda generated)"
)
def create_meeting(request, payload: MeetingCreate):
    require_manage(request)
    data = payload.dict()
    meeting = services.meeting_create(
        workspace=request.workspace,
        by=request.user,
        kind=data["kind"],
        title=data["title"],
        scheduled_at=aware(data["scheduled_at"]),
        duration_minutes=data["duration_minutes"],
        segment=_segment(request, data["segment"]),
        squad=one_in(
            Squad.objects.filter(workspace=request.workspace),
            data["squad"],
            field="squad",
            what="squad",
        ),
        notes=data["notes"],
        attachments=data["attachments"],
        **_attendees(request, data["attendee_users"], data["attendee_stakeholders"]),
    )
    return 201, _meeting(selectors.meeting_detail(request.workspace, meeting.pk))


@meetings_router.get("/{id}", response={200: MeetingOut, **READ_ERRORS}, summary="Get a meeting")
def get_meeting(request, id: int):  # noqa: A002
    return _meeting(_get_meeting(request, id))


@meetings_router.patch(
    "/{id}", response={200: MeetingOut, **WRITE_ERRORS}, summary="Update notes, time, attendees"
)
def patch_meeting(request, id: int, payload: MeetingUpdate):  # noqa: A002
    require_manage(request)
    meeting = _get_meeting(request, id)
    data = payload.dict(exclude_unset=True)
    attendees = _attendees(
        request, data.pop("attendee_users", None), data.pop("attendee_stakeholders", None)
    )
    if "scheduled_at" in data:
        if data["scheduled_at"] is None:
            raise invalid("scheduled_at", "A meeting has a date and time.")
        data["scheduled_at"] = aware(data["scheduled_at"])
    services.meeting_update(meeting=meeting, by=request.user, **attendees, **data)
    return _meeting(_get_meeting(request, id))


@meetings_router.post(
    "/{id}/agenda", response={200: MeetingOut, **WRITE_ERRORS}, summary="Regenerate the agenda"
)
def regenerate_agenda(request, id: int):  # noqa: A002
    require_manage(request)
    services.meeting_regenerate_agenda(meeting=_get_meeting(request, id), by=request.user)
    return _meeting(_get_meeting(request, id))


@meetings_router.get(
    "/{id}/decisions",
    response={200: list[DecisionOut], **READ_ERRORS},
    summary="List a meeting's decisions",
)
def list_decisions(request, id: int):  # noqa: A002
    return [_decision(d) for d in selectors.decisions_for_api(_get_meeting(request, id))]


@meetings_router.post(
    "/{id}/decisions",
    response={201: DecisionOut, **WRITE_ERRORS},
    summary="Record a decision (moves features through the status machine; 409 if refused)",
)
def create_decision(request, id: int, payload: DecisionIn):  # noqa: A002
    require_manage(request)
    meeting = _get_meeting(request, id)
    features = many_in(
        Feature.objects.filter(workspace=request.workspace),
        payload.features,
        field="features",
        what="feature",
    )
    try:
        decision = services.decision_record(
            meeting=meeting,
            by=request.user,
            text=payload.text,
            features=features,
            move_to=payload.move_to,
            reason=payload.reason,
        )
    except services.DecisionRefused as exc:
        errors = {f"features.{f.pk}": [message] for f, message in exc.refusals}
        raise Problem(
            409,
            "Move refused",
            "Nothing was recorded: " + str(exc),
            errors,
            refused=[{"feature": f.pk, "message": message} for f, message in exc.refusals],
        ) from exc
    return 201, _decision(decision)


@meetings_router.post(
    "/{id}/minutes",
    response={202: MinutesOut, **WRITE_ERRORS},
    summary="Email the minutes to the attendees",
)
def send_minutes(request, id: int):  # noqa: A002
    require_manage(request)
    count = services.meeting_send_minutes(meeting=_get_meeting(request, id), by=request.user)
    return 202, {"recipients": count}


# --- newsletters ------------------------------------------------------------------------------


class NewsletterOut(Schema):
    id: int
    month: str = Field(description="YYYY-MM")
    title: str
    state: str
    body_markdown: str
    generated_markdown: str
    generated_at: dt.datetime | None
    published_at: dt.datetime | None
    recipients_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


class NewsletterSummary(Schema):
    id: int
    month: str
    title: str
    state: str
    published_at: dt.datetime | None
    recipients_count: int


class NewsletterPage(Schema):
    results: list[NewsletterSummary]
    next: str | None


class DraftIn(In):
    month: str = Field(description="YYYY-MM: the issue to draft (or refresh, while a draft).")


class NewsletterUpdate(In):
    title: str = Field(None, min_length=1, max_length=200)
    body_markdown: str = Field(None, min_length=1)


def _newsletter(n: Newsletter) -> dict:
    return {
        "id": n.pk,
        "month": n.month_key,
        "title": n.title,
        "state": n.state,
        "body_markdown": n.body_markdown,
        "generated_markdown": n.generated_markdown,
        "generated_at": n.generated_at,
        "published_at": n.published_at,
        "recipients_count": n.recipients_count,
        "created_at": n.created_at,
        "updated_at": n.updated_at,
    }


def _get_newsletter(request, pk: int) -> Newsletter:
    return get_or_404(selectors.newsletters(request.workspace), pk, "newsletter")


@newsletters_router.get(
    "", response={200: NewsletterPage, **READ_ERRORS}, summary="List newsletter issues"
)
def list_newsletters(
    request,
    state: Literal["draft", "published"] | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    next: str | None = None,  # noqa: A002
):
    qs = selectors.newsletters(request.workspace)
    if state:
        qs = qs.filter(state=state)
    rows, nxt = paginate(request, qs, **list_params(limit, cursor, next))
    return {
        "results": [
            {
                "id": n.pk,
                "month": n.month_key,
                "title": n.title,
                "state": n.state,
                "published_at": n.published_at,
                "recipients_count": n.recipients_count,
            }
            for n in rows
        ],
        "next": nxt,
    }


@newsletters_router.post(
    "",
    response={201: NewsletterOut, **WRITE_ERRORS},
    summary="Draft the issue of a month from the data",
)
def draft_newsletter(request, payload: DraftIn):
    require_manage(request)
    try:
        month = newsletter_lib.parse_month(payload.month)
    except ValueError as exc:
        raise invalid("month", str(exc)) from exc
    if selectors.newsletter_by_month(request.workspace, month) is not None:
        existing = selectors.newsletter_by_month(request.workspace, month)
        if existing.is_published:
            raise Problem(
                409,
                "Conflict",
                f"The issue of {payload.month} is already published.",
                {"month": ["already published"]},
                existing=existing.pk,
            )
    issue = services.newsletter_draft(workspace=request.workspace, month=month, by=request.user)
    return 201, _newsletter(issue)


@newsletters_router.get(
    "/{id}", response={200: NewsletterOut, **READ_ERRORS}, summary="Get an issue"
)
def get_newsletter(request, id: int):  # noqa: A002
    return _newsletter(_get_newsletter(request, id))


@newsletters_router.patch(
    "/{id}", response={200: NewsletterOut, **WRITE_ERRORS}, summary="Edit a draft"
)
def patch_newsletter(request, id: int, payload: NewsletterUpdate):  # noqa: A002
    require_manage(request)
    issue = _get_newsletter(request, id)
    if issue.is_published:
        raise Problem(409, "Conflict", "A published issue cannot be edited.")
    services.newsletter_update(
        newsletter=issue, by=request.user, **payload.dict(exclude_unset=True)
    )
    return _newsletter(_get_newsletter(request, id))


@newsletters_router.post(
    "/{id}/publish",
    response={200: NewsletterOut, **WRITE_ERRORS},
    summary="Publish: archive, feed, and email to every subscriber",
)
def publish_newsletter(request, id: int):  # noqa: A002
    require_manage(request)
    issue = _get_newsletter(request, id)
    if issue.is_published:
        raise Problem(409, "Conflict", "This issue is already published.")
    issue = services.newsletter_publish(newsletter=issue, by=request.user)
    return _newsletter(issue)
