"""Generated agendas of review meetings.

A priority review meets one stakeholder group (a segment), optionally with one squad. Its agenda,
computed for the period since the group's previous priority review (same segment and squad; the
last 30 days when there is none):

- **New insights**: insights of that segment captured in the period, and the needs they point to
  (a need is "new" when it was created in the period).
- **Top candidates**: features not yet being built (new, under consideration, studying,
  designing) that touch the group — they answer a need linked to an insight of that segment —
  best `Feature.score` first.
- **Status changes**: every status move (Activity "status_changed") of a feature touching the
  group in the period.
- **Decisions needed**: features touching the group that wait for a decision (under
  consideration or studying), and features flagged for a decision (`DecisionFlag`).
- **Release plan**: rollout stages starting in the next six weeks and target releases in that
  window, of features touching the group.

With a squad, candidates, changes, decisions and the release plan are limited to its features.

An insights review meets a squad's engineers. Its digest covers insights captured since the
squad's previous insights review (30 days when none) that are linked to needs the squad's
features answer, grouped into themes (by need: the needs are the themes the linking gives us),
with counts by segment and a few quotes; then the needs with the squad's features answering
them, and the squad's features still lacking an evaluation.

The agenda is a plain JSON snapshot (ids, titles, counts and ISO dates) kept on the meeting.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from django.db.models import Q
from django.utils import timezone

from quarterdeck.backlog.models import Feature, RolloutStage, Status
from quarterdeck.core.models import Activity
from quarterdeck.insights.models import Insight, InsightLink

DEFAULT_PERIOD = dt.timedelta(days=30)
RELEASE_WINDOW = dt.timedelta(weeks=6)
CANDIDATE_STATUSES = (
    Status.NEW,
    Status.UNDER_CONSIDERATION,
    Status.STUDYING,
    Status.DESIGNING,
)
AWAITING_DECISION = (Status.UNDER_CONSIDERATION, Status.STUDYING)
LIST_LIMIT = 12


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def previous_meeting(meeting):
    """The same group's review held before `meeting` (same kind, segment and squad)."""
    from quarterdeck.rituals.models import Meeting

    qs = Meeting.objects.filter(
        workspace_id=meeting.workspace_id,
        kind=meeting.kind,
        segment_id=meeting.segment_id,
        squad_id=meeting.squad_id,
        scheduled_at__lt=meeting.scheduled_at,
    )
    if meeting.pk:
        qs = qs.exclude(pk=meeting.pk)
    return qs.order_by("-scheduled_at", "-id").first()


def period_start(meeting) -> dt.datetime:
    previous = previous_meeting(meeting)
    if previous is not None:
        return previous.scheduled_at
    return meeting.scheduled_at - DEFAULT_PERIOD


def features_touching(workspace, segment, squad=None):
    """Features answering a need that an insight of `segment` is linked to."""
    qs = Feature.objects.filter(workspace=workspace)
    if segment is not None:
        qs = qs.filter(needs__links__insight__segment=segment)
    if squad is not None:
        qs = qs.filter(squad=squad)
    return qs.distinct()


def _feature_row(feature: Feature, **extra) -> dict:
    row = {
        "id": feature.pk,
        "title": feature.title,
        "status": feature.status,
        "score": round(feature.score, 2) if feature.score is not None else None,
        "squad": feature.squad.name if feature.squad_id else "",
    }
    row.update(extra)
    return row


def _ranked(features: list[Feature]) -> list[Feature]:
    return sorted(features, key=lambda f: (f.score is None, -(f.score or 0), f.title.lower()))


def status_changes(workspace, feature_ids, since, until) -> list[dict]:
    rows = (
        Activity.objects.filter(
            workspace=workspace,
            verb="status_changed",
            target_type="feature",
            target_id__in=list(feature_ids),
            created_at__gte=since,
            created_at__lt=until,
        )
        .select_related("actor")
        .order_by("created_at", "id")
    )
    changes = []
    for row in rows:
        old_new = (row.changes or {}).get("status") or [None, None]
        changes.append(
            {
                "feature_id": row.target_id,
                "title": row.target_label,
                "from": old_new[0],
                "to": old_new[1],
                "at": _iso(row.created_at),
                "by": str(row.actor) if row.actor_id else "",
                "reason": row.message,
            }
        )
    return changes


def release_plan(features_qs, start: dt.date, end: dt.date) -> list[dict]:
    """Rollout stages and target releases between `start` and `end` (inclusive), by date."""
    plan = []
    stages = (
        RolloutStage.objects.filter(
            feature__in=features_qs, starts_on__gte=start, starts_on__lte=end
        )
        .select_related("feature", "segment")
        .order_by("starts_on", "feature__title", "order")
    )
    for stage in stages:
        plan.append(
            {
                "date": stage.starts_on.isoformat(),
                "kind": "rollout",
                "feature_id": stage.feature_id,
                "title": stage.feature.title,
                "status": stage.feature.status,
                "label": stage.audience_label,
                "state": stage.state,
            }
        )
    for feature in features_qs.filter(target_release__gte=start, target_release__lte=end).order_by(
        "target_release", "title"
    ):
        plan.append(
            {
                "date": feature.target_release.isoformat(),
                "kind": "release",
                "feature_id": feature.pk,
                "title": feature.title,
                "status": feature.status,
                "label": "",
                "state": "",
            }
        )
    plan.sort(key=lambda r: (r["date"], r["title"].lower()))
    return plan


def priority_review(meeting, *, now: dt.datetime | None = None) -> dict:
    from quarterdeck.rituals.models import DecisionFlag

    now = now or timezone.now()
    workspace, segment, squad = meeting.workspace, meeting.segment, meeting.squad
    since = period_start(meeting)
    until = max(meeting.scheduled_at, now)

    insights = Insight.objects.filter(
        workspace=workspace, captured_at__gte=since, captured_at__lt=until
    ).exclude(state="archived")
    if segment is not None:
        insights = insights.filter(segment=segment)
    insights = insights.select_related("stakeholder").order_by("-captured_at", "-id")
    insight_rows = list(insights[:LIST_LIMIT])
    insight_count = insights.count()

    links = (
        InsightLink.objects.filter(insight__in=insights.values("pk"))
        .select_related("need")
        .order_by("need__title")
    )
    need_counts: Counter = Counter()
    needs = {}
    for link in links:
        need_counts[link.need_id] += 1
        needs[link.need_id] = link.need
    need_rows = [
        {
            "id": need.pk,
            "title": need.title,
            "count": need_counts[need.pk],
            "new": need.created_at >= since,
        }
        for need in sorted(needs.values(), key=lambda n: (-need_counts[n.pk], n.title.lower()))
    ]

    touching = features_touching(workspace, segment, squad)
    touching_list = list(touching.select_related("squad"))
    touching_ids = [f.pk for f in touching_list]

    candidates = _ranked([f for f in touching_list if f.status in CANDIDATE_STATUSES])[:LIST_LIMIT]

    flags = DecisionFlag.objects.filter(workspace=workspace, resolved_by__isnull=True)
    flags = flags.filter(Q(segment=segment) | Q(segment__isnull=True)) if segment else flags
    if squad is not None:
        flags = flags.filter(feature__squad=squad)
    flags = list(flags.select_related("feature__squad").order_by("created_at"))
    decisions = []
    seen = set()
    for flag in flags:
        if flag.feature_id in seen:
            continue
        seen.add(flag.feature_id)
        decisions.append(_feature_row(flag.feature, why="flagged", note=flag.note))
    for feature in _ranked([f for f in touching_list if f.status in AWAITING_DECISION]):
        if feature.pk not in seen:
            seen.add(feature.pk)
            decisions.append(_feature_row(feature, why=feature.status, note=""))

    today = timezone.localdate(now)
    return {
        "kind": "priority_review",
        "since": _iso(since),
        "until": _iso(until),
        "insight_count": insight_count,
        "insights": [
            {
                "id": i.pk,
                "summary": i.summary,
                "stakeholder": i.stakeholder.name if i.stakeholder_id else "",
                "channel": i.channel,
                "captured_at": _iso(i.captured_at),
            }
            for i in insight_rows
        ],
        "needs": need_rows,
        "candidates": [_feature_row(f) for f in candidates],
        "status_changes": status_changes(workspace, touching_ids, since, until),
        "decisions_needed": decisions,
        "release_plan": release_plan(touching, today, today + RELEASE_WINDOW),
    }


def insights_review(meeting, *, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    workspace, squad = meeting.workspace, meeting.squad
    since = period_start(meeting)
    until = max(meeting.scheduled_at, now)

    squad_features = Feature.objects.filter(workspace=workspace)
    if squad is not None:
        squad_features = squad_features.filter(squad=squad)
    links = InsightLink.objects.filter(
        workspace=workspace,
        insight__captured_at__gte=since,
        insight__captured_at__lt=until,
        need__features__in=squad_features.values("pk"),
    ).exclude(insight__state="archived")
    links = (
        links.select_related("need", "insight__segment", "insight__stakeholder")
        .order_by("need_id", "-insight__captured_at")
        .distinct()
    )
    by_need: dict[int, list] = defaultdict(list)
    needs = {}
    insight_ids = set()
    for link in links:
        by_need[link.need_id].append(link)
        needs[link.need_id] = link.need
        insight_ids.add(link.insight_id)

    features_by_need: dict[int, list] = defaultdict(list)
    for feature in squad_features.filter(needs__in=list(needs)).select_related("squad").distinct():
        for need_id in feature.needs.filter(pk__in=list(needs)).values_list("pk", flat=True):
            features_by_need[need_id].append(_feature_row(feature))

    themes = []
    for need_id, need_links in by_need.items():
        segments: Counter = Counter()
        colours = {}
        for link in need_links:
            seg = link.insight.segment
            name = seg.name if seg else "—"
            segments[name] += 1
            colours[name] = seg.color if seg else "#9ca3af"
        themes.append(
            {
                "need_id": need_id,
                "label": needs[need_id].title,
                "count": len(need_links),
                "by_segment": [
                    {"name": name, "color": colours[name], "count": count}
                    for name, count in segments.most_common()
                ],
                "quotes": [
                    {
                        "text": link.quote[:280],
                        "who": link.insight.stakeholder.name if link.insight.stakeholder_id else "",
                        "segment": link.insight.segment.name if link.insight.segment_id else "",
                    }
                    for link in need_links[:3]
                ],
                "features": features_by_need.get(need_id, []),
            }
        )
    themes.sort(key=lambda t: (-t["count"], t["label"].lower()))

    to_evaluate = _ranked(
        list(
            squad_features.filter(
                status__in=(*CANDIDATE_STATUSES, Status.IN_ENGINEERING),
                evaluations__isnull=True,
            )
            .exclude(status=Status.NEW)
            .select_related("squad")
            .distinct()
        )
    )[:LIST_LIMIT]
    return {
        "kind": "insights_review",
        "since": _iso(since),
        "until": _iso(until),
        "insight_count": len(insight_ids),
        "themes": themes,
        "to_evaluate": [_feature_row(f) for f in to_evaluate],
        "status_changes": status_changes(
            workspace, list(squad_features.values_list("pk", flat=True)), since, until
        ),
    }


def demo_review(meeting, *, now: dt.datetime | None = None) -> dict:
    """A demo: the squad's features shipped or deploying, and the demos recorded since."""
    now = now or timezone.now()
    since = period_start(meeting)
    features = Feature.objects.filter(workspace=meeting.workspace)
    if meeting.squad_id:
        features = features.filter(squad_id=meeting.squad_id)
    showing = features.filter(
        status__in=(Status.IN_QA, Status.READY_TO_DEPLOY, Status.ROLLING_OUT, Status.SHIPPED)
    ).select_related("squad")
    return {
        "kind": "demo",
        "since": _iso(since),
        "until": _iso(max(meeting.scheduled_at, now)),
        "showing": [_feature_row(f) for f in _ranked(list(showing))][:LIST_LIMIT],
        "status_changes": status_changes(
            meeting.workspace, list(features.values_list("pk", flat=True)), since, now
        ),
    }


def generate(meeting, *, now: dt.datetime | None = None) -> dict:
    from quarterdeck.rituals.models import MeetingKind

    if meeting.kind == MeetingKind.PRIORITY_REVIEW:
        return priority_review(meeting, now=now)
    if meeting.kind == MeetingKind.INSIGHTS_REVIEW:
        return insights_review(meeting, now=now)
    return demo_review(meeting, now=now)
