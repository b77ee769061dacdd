"""Lumen Academy's rituals: a past priority review with employers (with its decisions and sent
minutes), a past insights review with the Learning Experience squad, an upcoming review with
mentors, a shared roadmap link, and last month's newsletter, drafted from the demo data and
published on the second day of this month."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone

from quarterdeck.backlog.models import Status
from quarterdeck.rituals import newsletter as newsletter_lib
from quarterdeck.rituals import services
from quarterdeck.rituals.models import Meeting, ShareKind


def _stakeholders(ctx, segment_key: str, count: int) -> list:
    people = ctx.extra.get("stakeholders_by_segment", {}).get(segment_key, [])
    return [p for p in people if getattr(p, "email", "")][:count]


def _pick(rows: list[dict], statuses) -> list[dict]:
    return [row for row in rows if row["status"] in statuses]


def _priority_review(ctx) -> Meeting | None:
    segment = ctx.segments.get("employer")
    if segment is None:
        return None
    pm = ctx.users["pm_careers"]
    with ctx.at(ctx.moment(12, 14, 0)):
        meeting = services.meeting_create(
            workspace=ctx.workspace,
            kind="priority_review",
            title="Priority review with employers",
            scheduled_at=ctx.moment(12, 14, 0),
            segment=segment,
            squad=None,
            by=pm,
            attendee_users=[pm, ctx.users["pm"], ctx.users["stakeholder"]],
            attendee_stakeholders=_stakeholders(ctx, "employer", 3),
        )
        agenda = meeting.agenda
        candidates = agenda.get("candidates", []) + agenda.get("decisions_needed", [])
        studying = _pick(candidates, (Status.STUDYING,))
        considered = _pick(candidates, (Status.UNDER_CONSIDERATION,))
        features = {f.pk: f for f in ctx.features.values()}
        if studying:
            feature = features.get(studying[0]["id"])
            if feature is not None:
                services.decision_record(
                    meeting=meeting,
                    text=(
                        f"Study “{feature.title}” with three partner employers before "
                        "designing: interview their recruiters about how they shortlist today."
                    ),
                    features=[feature],
                    move_to=Status.STUDYING,
                    by=pm,
                )
        if considered:
            feature = features.get(considered[0]["id"])
            if feature is not None:
                services.decision_record(
                    meeting=meeting,
                    text=(
                        f"Keep “{feature.title}” under consideration: only two employers asked "
                        "for it; revisit when the careers objective is set for next quarter."
                    ),
                    features=[feature],
                    by=pm,
                )
        services.decision_record(
            meeting=meeting,
            text="Employers get the public roadmap link; the next review is in six weeks.",
            by=pm,
        )
        services.meeting_update(
            meeting=meeting,
            by=pm,
            notes=(
                "- Employers want to see graduates' real projects, not only certificates.\n"
                "- Two hiring managers asked for a shortlist export to their ATS.\n"
                "- Everyone liked the new automatic certificates."
            ),
        )
        meeting.minutes_requested_at = timezone.now()
        meeting.minutes_sent_at = timezone.now() + dt.timedelta(minutes=1)
        meeting.minutes_recipients = len(services.minutes_recipients(meeting))
        meeting.save(
            update_fields=["minutes_requested_at", "minutes_sent_at", "minutes_recipients"]
        )
    return meeting


def _insights_review(ctx) -> Meeting | None:
    squad = ctx.squads.get("learning")
    if squad is None:
        return None
    pm = ctx.users["pm"]
    engineers = [ctx.users[k] for k in ("contributor", "lea", "tom", "ines") if k in ctx.users]
    with ctx.at(ctx.moment(8, 10, 0)):
        meeting = services.meeting_create(
            workspace=ctx.workspace,
            kind="insights_review",
            title="Insights review — Learning Experience",
            scheduled_at=ctx.moment(8, 10, 0),
            squad=squad,
            by=pm,
            attendee_users=[pm, *engineers],
            attachments=(
                "**Live-session attendance** (analytics, last 4 weeks): 77 % of booked seats "
                "attended, up from 75 %.\n\n"
                "- Mobile share of lesson views: 46 %\n"
                "- Support tickets tagged *mobile*: 31 this month\n"
            ),
        )
        rows = list(meeting.agenda.get("to_evaluate", []))
        for theme in meeting.agenda.get("themes", []):
            rows += _pick(
                theme.get("features", []),
                (Status.UNDER_CONSIDERATION, Status.STUDYING, Status.DESIGNING),
            )
        features = {f.pk: f for f in ctx.features.values()}
        if rows and engineers:
            feature = features.get(rows[0]["id"])
            if feature is not None:
                try:
                    services.meeting_evaluation_request(
                        meeting=meeting,
                        feature=feature,
                        assignee=engineers[0],
                        by=pm,
                        note="Effort and risk, please: the mobile theme keeps growing.",
                    )
                except ValidationError:
                    pass  # an open request for that engineer exists already
        services.decision_record(
            meeting=meeting,
            text="Mobile comes first next cycle: design reviews the small-screen lesson flow.",
            by=pm,
        )
    return meeting


def _upcoming(ctx) -> None:
    segment = ctx.segments.get("mentor")
    if segment is None:
        return
    pm = ctx.users["pm_platform"]
    with ctx.at(ctx.moment(1, 9, 0)):
        services.meeting_create(
            workspace=ctx.workspace,
            kind="priority_review",
            title="Priority review with mentors",
            scheduled_at=timezone.make_aware(
                dt.datetime.combine(ctx.today + dt.timedelta(days=6), dt.time(15, 0))
            ),
            segment=segment,
            by=pm,
            attendee_users=[pm, ctx.users["pm"]],
            attendee_stakeholders=_stakeholders(ctx, "mentor", 2),
        )


def _newsletter(ctx) -> None:
    month = newsletter_lib.previous_month(ctx.today)
    published_on = min(ctx.today, ctx.today.replace(day=2))
    moment = timezone.make_aware(dt.datetime.combine(published_on, dt.time(8, 30)))
    pm = ctx.users["pm"]
    with ctx.at(moment - dt.timedelta(hours=1)):
        issue = services.newsletter_draft(workspace=ctx.workspace, month=month, by=pm)
    with ctx.at(moment):
        services.newsletter_publish(newsletter=issue, by=pm, record_only=True)


def build(ctx) -> None:
    _priority_review(ctx)
    _insights_review(ctx)
    _upcoming(ctx)
    with ctx.at(ctx.moment(12, 16, 0)):
        services.share_link_create(
            workspace=ctx.workspace,
            kind=ShareKind.ROADMAP,
            label="Partner employers",
            by=ctx.users["pm_careers"],
        )
    _newsletter(ctx)
