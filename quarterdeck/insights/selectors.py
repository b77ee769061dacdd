"""Reads for the inbox, needs and stakeholders pages and the API."""

from django.db.models import Count, Max, Prefetch, Q, QuerySet, prefetch_related_objects

from quarterdeck.insights.models import (
    Insight,
    InsightLink,
    InsightState,
    Need,
    NeedState,
    Segment,
    Stakeholder,
)


def inbox_queryset(
    workspace,
    *,
    state: str | None = None,
    segment: str | None = None,
    source: str | None = None,
    stakeholder: int | str | None = None,
    q: str | None = None,
    external_id: str | None = None,
    tag: str | None = None,
) -> QuerySet[Insight]:
    """Insights of a workspace with the inbox filters applied, newest first."""
    qs = Insight.objects.filter(workspace=workspace).select_related("stakeholder", "segment")
    if state:
        qs = qs.filter(state=state)
    if segment:
        qs = qs.filter(segment__key=segment)
    if source:
        qs = qs.filter(Q(source=source) | Q(channel=source))
    if stakeholder:
        qs = qs.filter(stakeholder_id=stakeholder)
    if external_id:
        qs = qs.filter(external_id=external_id)
    if tag:
        qs = qs.filter(tags__icontains=f'"{tag}"')
    if q:
        qs = qs.filter(
            Q(text__icontains=q)
            | Q(stakeholder__name__icontains=q)
            | Q(stakeholder__organisation__icontains=q)
        )
    return qs.order_by("-captured_at", "-id")


def inbox_counts(
    workspace,
    *,
    segment: str | None = None,
    source: str | None = None,
    stakeholder: int | str | None = None,
    q: str | None = None,
) -> dict[str, int]:
    """How many insights match the filters in each state, and in all, in one query."""
    qs = inbox_queryset(workspace, segment=segment, source=source, stakeholder=stakeholder, q=q)
    counts = dict.fromkeys(InsightState.values, 0)
    # Grouped by state, the count reads only the (workspace, state, captured_at) index.
    for row in qs.order_by().values("state").annotate(n=Count("id")):
        counts[row["state"]] = row["n"]
    counts["all"] = sum(counts.values())
    return counts


def prefetch_insight_links(insights: list[Insight]) -> None:
    """Load the links (with their need and who linked) of insights already fetched."""
    prefetch_related_objects(
        insights, Prefetch("links", InsightLink.objects.select_related("need", "linked_by"))
    )


def insight_detail(workspace, pk) -> Insight:
    return (
        Insight.objects.filter(workspace=workspace)
        .select_related("stakeholder", "segment", "captured_by")
        .prefetch_related(
            Prefetch("links", InsightLink.objects.select_related("need", "linked_by"))
        )
        .get(pk=pk)
    )


def segments(workspace) -> QuerySet[Segment]:
    return Segment.objects.filter(workspace=workspace)


def stakeholders(
    workspace, *, q: str | None = None, segment: str | None = None
) -> QuerySet[Stakeholder]:
    qs = Stakeholder.objects.filter(workspace=workspace).select_related("segment")
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(email__icontains=q) | Q(organisation__icontains=q))
    if segment:
        qs = qs.filter(segment__key=segment)
    return qs


def stakeholders_list(
    workspace, *, q: str | None = None, segment: str | None = None
) -> QuerySet[Stakeholder]:
    """Stakeholders by name; count their insights with `with_insight_counts` once paginated."""
    return stakeholders(workspace, q=q, segment=segment).order_by("name", "id")


def with_insight_counts(people: list[Stakeholder]) -> list[Stakeholder]:
    """Set `insight_count` on each stakeholder of a page, in one query."""
    counts = dict(
        Insight.objects.filter(stakeholder__in=people)
        .order_by()
        .values("stakeholder")
        .annotate(n=Count("id"))
        .values_list("stakeholder", "n")
    )
    for person in people:
        person.insight_count = counts.get(person.pk, 0)
    return people


def stakeholder_detail(workspace, pk) -> Stakeholder:
    return Stakeholder.objects.select_related("segment").get(workspace=workspace, pk=pk)


def stakeholder_insights(stakeholder: Stakeholder) -> QuerySet[Insight]:
    return (
        Insight.objects.filter(workspace_id=stakeholder.workspace_id, stakeholder=stakeholder)
        .select_related("segment")
        .order_by("-captured_at", "-id")
    )


def stakeholder_needs(stakeholder: Stakeholder) -> QuerySet[Need]:
    """The needs this person's insights are linked to, with how many of their insights and the
    highest importance they gave each."""
    return (
        Need.objects.filter(
            workspace_id=stakeholder.workspace_id, links__insight__stakeholder=stakeholder
        )
        .annotate(
            their_insights=Count("links", distinct=True),
            top_importance=Max("links__importance"),
        )
        .order_by("-top_importance", "-their_insights", "title")
    )


def stakeholder_emails(workspace, limit: int = 500) -> list[str]:
    """Recent stakeholder email addresses, offered while typing one in."""
    return list(
        Stakeholder.objects.filter(workspace=workspace)
        .exclude(email="")
        .order_by("-created_at")
        .values_list("email", flat=True)[:limit]
    )


def needs_list(workspace, *, q: str | None = None, segment: str | None = None, state="open"):
    qs = (
        Need.objects.filter(workspace=workspace)
        .annotate(
            insight_count=Count("links", distinct=True),
            people_count=Count("links__insight__stakeholder", distinct=True),
            feature_count=Count("features", distinct=True),
        )
        .prefetch_related("segments")
    )
    if state:
        qs = qs.filter(state=state)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(description__icontains=q))
    if segment:
        qs = qs.filter(segments__key=segment)
    return qs.order_by("-insight_count", "title")


def need_search(workspace, q: str, limit: int = 8) -> QuerySet[Need]:
    qs = Need.objects.filter(workspace=workspace, state=NeedState.OPEN)
    if q:
        qs = qs.filter(title__icontains=q)
    return qs.annotate(insight_count=Count("links")).order_by("-insight_count", "title")[:limit]


def need_detail(workspace, pk) -> Need:
    return (
        Need.objects.filter(workspace=workspace)
        .select_related("created_by")
        .prefetch_related("segments")
        .get(pk=pk)
    )


def need_features(need: Need):
    """The features answering a need, open ones first."""
    return need.features.select_related("squad").order_by("-created_at")


def need_people_count(need: Need) -> int:
    return (
        InsightLink.objects.filter(need=need)
        .exclude(insight__stakeholder=None)
        .values("insight__stakeholder")
        .distinct()
        .count()
    )


def need_links(need: Need) -> QuerySet[InsightLink]:
    return (
        InsightLink.objects.filter(need=need)
        .select_related(
            "insight",
            "insight__stakeholder",
            "insight__segment",
            "insight__stakeholder__segment",
            "linked_by",
        )
        .order_by("insight__stakeholder__name", "-created_at")
    )


def need_demand_by_segment(need: Need) -> list[dict]:
    """Number of linked insights and distinct stakeholders per segment, largest first."""
    rows = (
        InsightLink.objects.filter(need=need)
        .values("insight__segment__name", "insight__segment__color")
        .annotate(
            insights=Count("id"),
            people=Count("insight__stakeholder", distinct=True),
        )
        .order_by("-insights")
    )
    top = max((r["insights"] for r in rows), default=0) or 1
    return [
        {
            "segment": r["insight__segment__name"] or "—",
            "color": r["insight__segment__color"] or "#9ca3af",
            "insights": r["insights"],
            "people": r["people"],
            "pct": round(100 * r["insights"] / top),
        }
        for r in rows
    ]


def untriaged_count(workspace) -> int:
    return Insight.objects.filter(workspace=workspace, state=InsightState.NEW).count()
