"""Reads for the meetings, roadmap and newsletter pages, the public pages and the API.

Roadmap columns (documented for users on the page too):
- **Now**: being built — in engineering, in QA, ready to deploy, rolling out.
- **Next**: being shaped — designing, studying.
- **Later**: considered — under consideration, new.
Shipped, measured, declined and parked features are not on the roadmap.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from quarterdeck.backlog.models import Feature, RolloutStage, Status
from quarterdeck.rituals.models import (
    Decision,
    DecisionFlag,
    Meeting,
    Newsletter,
    NewsletterState,
    ShareKind,
    ShareLink,
)

NOW = (Status.IN_ENGINEERING, Status.IN_QA, Status.READY_TO_DEPLOY, Status.ROLLING_OUT)
NEXT = (Status.DESIGNING, Status.STUDYING)
LATER = (Status.UNDER_CONSIDERATION, Status.NEW)
HORIZONS = (("now", NOW), ("next", NEXT), ("later", LATER))


def horizon_labels() -> dict[str, str]:
    return {"now": _("Now"), "next": _("Next"), "later": _("Later")}


# --- meetings ---------------------------------------------------------------------------------


def meetings(workspace, *, kind: str | None = None) -> QuerySet[Meeting]:
    qs = (
        Meeting.objects.filter(workspace=workspace)
        .select_related("segment", "squad", "workspace")
        .annotate(decision_count=Count("decisions", distinct=True))
    )
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-scheduled_at", "-id")


def meeting_detail(workspace, pk) -> Meeting:
    from quarterdeck.backlog.models import EvaluationRequest

    return (
        Meeting.objects.filter(workspace=workspace)
        .select_related("segment", "squad", "workspace", "created_by")
        .prefetch_related(
            "attendee_users",
            "attendee_stakeholders__segment",
            Prefetch(
                "decisions",
                Decision.objects.select_related("by").prefetch_related(
                    Prefetch("features", Feature.objects.select_related("workspace"))
                ),
            ),
            Prefetch(
                "evaluation_requests",
                EvaluationRequest.objects.select_related(
                    "feature__workspace", "assignee", "evaluation"
                ).order_by("-created_at"),
            ),
        )
        .get(pk=pk)
    )


def decisions_for_api(meeting: Meeting) -> QuerySet[Decision]:
    return (
        meeting.decisions.select_related("by")
        .prefetch_related("features")
        .order_by("created_at", "id")
    )


def open_flags(workspace) -> QuerySet[DecisionFlag]:
    return DecisionFlag.objects.filter(
        workspace=workspace, resolved_by__isnull=True
    ).select_related("feature__workspace", "segment")


def meeting_feature_choices(meeting: Meeting) -> QuerySet[Feature]:
    """Features a decision of `meeting` can be about: the squad's, or all open ones."""
    qs = Feature.objects.filter(workspace=meeting.workspace).exclude(
        status__in=(Status.DECLINED, Status.PARKED, Status.MEASURED)
    )
    if meeting.squad_id:
        qs = qs.filter(squad_id=meeting.squad_id)
    return qs.select_related("squad").order_by("title")


def agenda_feature_ids(agenda: dict) -> list[int]:
    ids = []
    for key in ("decisions_needed", "candidates", "to_evaluate", "showing"):
        ids += [row["id"] for row in agenda.get(key, [])]
    for theme in agenda.get("themes", []):
        ids += [row["id"] for row in theme.get("features", [])]
    ids += [row["feature_id"] for row in agenda.get("release_plan", [])]
    return list(dict.fromkeys(ids))


def squad_engineers(meeting: Meeting):
    """Members who can be asked for an evaluation: the squad's, else every writer."""
    from quarterdeck.accounts.models import User

    if meeting.squad_id:
        return (
            User.objects.filter(squad_memberships__squad_id=meeting.squad_id)
            .distinct()
            .order_by("full_name", "email")
        )
    return (
        User.objects.filter(
            memberships__workspace=meeting.workspace,
            memberships__role__in=("admin", "product_manager", "contributor"),
        )
        .distinct()
        .order_by("full_name", "email")
    )


def last_meeting(workspace, *, kind: str, segment=None, squad=None) -> Meeting | None:
    qs = Meeting.objects.filter(workspace=workspace, kind=kind)
    if segment is not None:
        qs = qs.filter(segment=segment)
    if squad is not None:
        qs = qs.filter(squad=squad)
    return qs.order_by("-scheduled_at").first()


# --- roadmap ----------------------------------------------------------------------------------


@dataclass
class RoadmapRow:
    squad: object | None
    columns: dict[str, list[Feature]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.columns.values())


def roadmap(workspace, *, squad=None) -> list[RoadmapRow]:
    """Now / Next / Later by squad (see the module doc); best score first in each cell."""
    from quarterdeck.squads.models import Squad

    features = (
        Feature.objects.filter(workspace=workspace, status__in=(*NOW, *NEXT, *LATER))
        .select_related("squad", "parent", "workspace")
        .order_by("title")
    )
    squads = list(Squad.objects.filter(workspace=workspace).order_by("name"))
    if squad is not None:
        features = features.filter(squad=squad)
        squads = [squad]
    rows = {s.pk: RoadmapRow(squad=s, columns={k: [] for k, _s in HORIZONS}) for s in squads}
    no_squad = RoadmapRow(squad=None, columns={k: [] for k, _s in HORIZONS})
    for feature in features:
        row = rows.get(feature.squad_id, no_squad) if feature.squad_id else no_squad
        for key, statuses in HORIZONS:
            if feature.status in statuses:
                row.columns[key].append(feature)
    out = list(rows.values())
    if no_squad.count and squad is None:
        out.append(no_squad)
    for row in out:
        for key in row.columns:
            row.columns[key].sort(key=lambda f: (f.score is None, -(f.score or 0), f.title.lower()))
    return out


@dataclass
class TimelineMonth:
    label: str
    x: float
    width: float


@dataclass
class TimelineItem:
    feature: Feature
    y: float
    release: dict | None = None
    stages: list[dict] = field(default_factory=list)


@dataclass
class Timeline:
    start: dt.date
    end: dt.date
    width: int
    height: int
    label_width: int
    months: list[TimelineMonth]
    rows: list[TimelineItem]
    today_x: float | None


TIMELINE_WIDTH = 1100
LABEL_WIDTH = 280
ROW_HEIGHT = 28
HEAD_HEIGHT = 28


def _add_months(day: dt.date, n: int) -> dt.date:
    month = day.month - 1 + n
    year = day.year + month // 12
    return dt.date(year, month % 12 + 1, 1)


def timeline(workspace, *, squad=None, today: dt.date | None = None, months: int = 6) -> Timeline:
    """Target releases and rollout stages from last month to `months` ahead, one row a feature."""
    today = today or timezone.localdate()
    start = _add_months(today.replace(day=1), -1)
    end = _add_months(start, months + 1)
    span = (end - start).days
    plot = TIMELINE_WIDTH - LABEL_WIDTH

    def x_of(day: dt.date) -> float:
        return round(LABEL_WIDTH + plot * (day - start).days / span, 1)

    features = Feature.objects.filter(workspace=workspace).filter(
        Q(target_release__gte=start, target_release__lt=end)
        | Q(rollout_stages__starts_on__gte=start, rollout_stages__starts_on__lt=end)
    )
    if squad is not None:
        features = features.filter(squad=squad)
    features = (
        features.exclude(status__in=(Status.DECLINED, Status.PARKED))
        .select_related("squad", "workspace")
        .prefetch_related(
            Prefetch(
                "rollout_stages",
                RolloutStage.objects.select_related("segment").order_by("order", "id"),
            )
        )
        .distinct()
    )

    def first_date(f: Feature) -> dt.date:
        dates = [s.starts_on for s in f.rollout_stages.all() if s.starts_on]
        if f.target_release:
            dates.append(f.target_release)
        return min(dates) if dates else end

    rows = []
    for n, feature in enumerate(sorted(features, key=lambda f: (first_date(f), f.title.lower()))):
        y = HEAD_HEIGHT + n * ROW_HEIGHT
        item = TimelineItem(feature=feature, y=y)
        if feature.target_release and start <= feature.target_release < end:
            item.release = {
                "x": x_of(feature.target_release),
                "date": feature.target_release,
                "label": date_format(feature.target_release, "j M Y"),
            }
        stages = [s for s in feature.rollout_stages.all() if s.starts_on]
        for i, stage in enumerate(stages):
            if not start <= stage.starts_on < end:
                continue
            following = stages[i + 1].starts_on if i + 1 < len(stages) else None
            stop = following if following and following > stage.starts_on else None
            stop = stop or stage.starts_on + dt.timedelta(days=7)
            x = x_of(stage.starts_on)
            width = max(6.0, min(x_of(min(stop, end)), TIMELINE_WIDTH) - x)
            item.stages.append(
                {
                    "x": x,
                    "width": round(width, 1),
                    "label": stage.audience_label,
                    "state": stage.state,
                    "date": stage.starts_on,
                }
            )
        rows.append(item)

    month_marks = []
    day = start
    while day < end:
        nxt = _add_months(day, 1)
        month_marks.append(
            TimelineMonth(
                label=date_format(day, "M Y"),
                x=x_of(day),
                width=round(x_of(nxt) - x_of(day), 1),
            )
        )
        day = nxt
    return Timeline(
        start=start,
        end=end,
        width=TIMELINE_WIDTH,
        height=HEAD_HEIGHT + max(len(rows), 1) * ROW_HEIGHT + 8,
        label_width=LABEL_WIDTH,
        months=month_marks,
        rows=rows,
        today_x=x_of(today) if start <= today < end else None,
    )


def share_links(workspace) -> QuerySet[ShareLink]:
    return ShareLink.objects.filter(workspace=workspace).select_related("squad", "created_by")


def share_link_for(token: str, kind: str) -> ShareLink | None:
    if not token or len(token) > 200:
        return None
    return ShareLink.objects.live_for(token, kind).first()


# --- calendar ---------------------------------------------------------------------------------


def calendar_items(workspace, *, squad=None, today: dt.date | None = None) -> dict:
    """Releases, rollout stages and meetings from 90 days ago to a year ahead."""
    today = today or timezone.localdate()
    start, end = today - dt.timedelta(days=90), today + dt.timedelta(days=366)
    features = Feature.objects.filter(
        workspace=workspace, target_release__gte=start, target_release__lte=end
    ).exclude(status__in=(Status.DECLINED, Status.PARKED))
    stages = RolloutStage.objects.filter(
        feature__workspace=workspace, starts_on__gte=start, starts_on__lte=end
    ).exclude(feature__status__in=(Status.DECLINED, Status.PARKED))
    meets = Meeting.objects.filter(
        workspace=workspace,
        scheduled_at__date__gte=start,
        scheduled_at__date__lte=end,
    )
    if squad is not None:
        features = features.filter(squad=squad)
        stages = stages.filter(feature__squad=squad)
        meets = meets.filter(squad=squad)
    return {
        "releases": list(features.select_related("squad").order_by("target_release")),
        "stages": list(stages.select_related("feature", "segment").order_by("starts_on")),
        "meetings": list(meets.select_related("segment", "squad").order_by("scheduled_at")),
    }


# --- newsletter -------------------------------------------------------------------------------


def newsletters(workspace) -> QuerySet[Newsletter]:
    return Newsletter.objects.filter(workspace=workspace).select_related(
        "workspace", "published_by"
    )


def published_newsletters(workspace) -> QuerySet[Newsletter]:
    return newsletters(workspace).filter(state=NewsletterState.PUBLISHED).order_by("-month")


def newsletter_by_month(workspace, month: dt.date) -> Newsletter | None:
    return newsletters(workspace).filter(month=month).first()


def month_choices(today: dt.date | None = None, count: int = 12) -> list[dt.date]:
    """This month and the `count - 1` before it, newest first."""
    today = today or timezone.localdate()
    first = today.replace(day=1)
    return [_add_months(first, -n) for n in range(count)]


def month_end(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def share_kind_label(kind: str) -> str:
    return ShareKind(kind).label
