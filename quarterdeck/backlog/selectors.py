"""Reads for the backlog, the board, the feature page and the API."""

from dataclasses import dataclass, field

from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from quarterdeck.backlog.models import (
    CLOSED_STATUSES,
    CommsItem,
    Demo,
    Evaluation,
    EvaluationRequest,
    Feature,
    FeatureDriver,
    OnboardingStep,
    QaCheck,
    RequestState,
    RolloutStage,
    Status,
    UxTest,
)
from quarterdeck.backlog.status import FLOW

STATUS_ORDER = [*FLOW, Status.PARKED, Status.DECLINED]
DONE_STATUSES = (Status.SHIPPED, Status.MEASURED)
BOARD_COLLAPSED = (Status.DECLINED, Status.PARKED)


def features_in_workspace(workspace) -> QuerySet[Feature]:
    return Feature.objects.filter(workspace=workspace)


def _status_rank():
    return Case(
        *[When(status=s.value, then=Value(i)) for i, s in enumerate(STATUS_ORDER)],
        default=Value(99),
        output_field=IntegerField(),
    )


def _latest_effort():
    return Subquery(
        Evaluation.objects.filter(feature=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values("effort")[:1]
    )


ORDERINGS = {
    "title": (F("title").asc(),),
    "-title": (F("title").desc(),),
    "status": (F("status_rank").asc(),),
    "-status": (F("status_rank").desc(),),
    "squad": (F("squad__name").asc(nulls_last=True),),
    "-squad": (F("squad__name").desc(nulls_last=True),),
    "score": (F("score").asc(nulls_last=True),),
    "-score": (F("score").desc(nulls_last=True),),
    "demand": (F("demand").asc(),),
    "-demand": (F("demand").desc(),),
    "effort": (F("latest_effort").asc(nulls_last=True),),
    "-effort": (F("latest_effort").desc(nulls_last=True),),
    "target": (F("target_release").asc(nulls_last=True),),
    "-target": (F("target_release").desc(nulls_last=True),),
    "created": (F("created_at").asc(),),
    "-created": (F("created_at").desc(),),
}
DEFAULT_ORDERING = "-score"
GROUPS = {"status": (F("status_rank").asc(),), "squad": (F("squad__name").asc(nulls_last=True),)}


def backlog_queryset(
    workspace,
    *,
    status: str | list[str] | None = None,
    squad: int | str | None = None,
    driver: int | str | None = None,
    q: str | None = None,
    parent: int | str | None = None,
    top_level: bool = False,
    ordering: str | None = None,
    group: str | None = None,
) -> QuerySet[Feature]:
    """The workspace's features with the backlog filters, ordering and grouping applied."""
    qs = (
        Feature.objects.filter(workspace=workspace)
        .select_related("squad", "owner", "parent")
        .annotate(status_rank=_status_rank(), latest_effort=_latest_effort())
    )
    if status:
        statuses = [status] if isinstance(status, str) else [s for s in status if s]
        if statuses:
            qs = qs.filter(status__in=statuses)
    if squad:
        qs = qs.filter(squad__isnull=True) if squad == "none" else qs.filter(squad_id=squad)
    if driver:
        qs = qs.filter(
            pk__in=FeatureDriver.objects.filter(driver_id=driver, contribution__gt=0).values(
                "feature_id"
            )
        )
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(description__icontains=q))
    if parent:
        qs = qs.filter(parent_id=parent)
    if top_level:
        qs = qs.filter(parent__isnull=True)
    order = ORDERINGS.get(ordering or DEFAULT_ORDERING, ORDERINGS[DEFAULT_ORDERING])
    return qs.order_by(*GROUPS.get(group or "", ()), *order, F("id").desc())


def backlog_roots(qs: QuerySet[Feature]) -> QuerySet[Feature]:
    """Rows that head the table: features whose parent is not itself among the results."""
    return qs.filter(Q(parent__isnull=True) | ~Q(parent_id__in=qs.values("id")))


@dataclass
class BacklogRow:
    feature: Feature
    depth: int = 0
    drivers: list = field(default_factory=list)
    insight_count: int = 0
    slice_total: int = 0
    slice_done: int = 0

    @property
    def demand(self) -> float:
        return self.feature.demand or self.insight_count

    @property
    def slice_percent(self) -> int:
        return round(100 * self.slice_done / self.slice_total) if self.slice_total else 0


def backlog_rows(
    qs: QuerySet[Feature], roots: list[Feature], max_depth: int = 3
) -> list[BacklogRow]:
    """The page's root features, each followed by its matching slices (indented), decorated
    with drivers, demand, and slice progress in a fixed number of queries."""
    children: dict[int, list[Feature]] = {}
    level_ids = [f.pk for f in roots]
    for _depth in range(max_depth):
        if not level_ids:
            break
        found = list(qs.filter(parent_id__in=level_ids))
        for f in found:
            children.setdefault(f.parent_id, []).append(f)
        level_ids = [f.pk for f in found]

    rows: list[BacklogRow] = []

    def add(feature: Feature, depth: int) -> None:
        rows.append(BacklogRow(feature=feature, depth=depth))
        for child in children.get(feature.pk, []):
            add(child, depth + 1)

    for root in roots:
        add(root, 0)
    ids = [r.feature.pk for r in rows]
    if not ids:
        return rows
    drivers: dict[int, list] = {}
    for link in FeatureDriver.objects.filter(feature_id__in=ids, contribution__gt=0).select_related(
        "driver"
    ):
        drivers.setdefault(link.feature_id, []).append(link)
    counts = insight_counts(ids)
    progress = slice_progress(ids)
    for row in rows:
        pk = row.feature.pk
        row.drivers = drivers.get(pk, [])
        row.insight_count = counts.get(pk, 0)
        row.slice_total, row.slice_done = progress.get(pk, (0, 0))
    return rows


def insight_counts(feature_ids) -> dict[int, int]:
    """Distinct insights linked to each feature's needs."""
    through = Feature.needs.through
    rows = (
        through.objects.filter(feature_id__in=feature_ids)
        .values("feature_id")
        .annotate(n=Count("need__links__insight", distinct=True))
        .values_list("feature_id", "n")
    )
    return dict(rows)


def slice_progress(feature_ids) -> dict[int, tuple[int, int]]:
    """(slices, slices shipped) of each feature that has slices."""
    rows = (
        Feature.objects.filter(parent_id__in=feature_ids)
        .order_by()
        .values("parent_id")
        .annotate(total=Count("id"), done=Count("id", filter=Q(status__in=DONE_STATUSES)))
        .values_list("parent_id", "total", "done")
    )
    return {parent: (total, done) for parent, total, done in rows}


def with_children_counts(qs: QuerySet[Feature]) -> QuerySet[Feature]:
    return qs.annotate(
        slice_count=Count("children", distinct=True),
        slice_done=Count(
            "children", filter=Q(children__status__in=["shipped", "measured"]), distinct=True
        ),
    )


def feature_detail(workspace, pk) -> Feature:
    from quarterdeck.insights.models import Need

    return (
        Feature.objects.filter(workspace=workspace)
        .select_related("squad", "owner", "parent", "parent__parent")
        .prefetch_related(
            Prefetch(
                "needs",
                Need.objects.annotate(demand=Count("links__insight", distinct=True)).order_by(
                    "-demand", "title"
                ),
            ),
            "key_results__objective",
            Prefetch("driver_links", FeatureDriver.objects.select_related("driver")),
            Prefetch("evaluations", Evaluation.objects.select_related("by")),
            Prefetch(
                "children",
                Feature.objects.select_related("squad")
                .annotate(status_rank=_status_rank())
                .order_by("status_rank", "id"),
            ),
        )
        .get(pk=pk)
    )


def latest_evaluation(feature: Feature) -> Evaluation | None:
    return feature.evaluations.order_by("-created_at", "-id").first()


def feature_evidence(feature: Feature, limit: int = 200):
    """Quotes from insights linked to the feature's needs, most important first."""
    from quarterdeck.insights.models import InsightLink

    return (
        InsightLink.objects.filter(need__features=feature)
        .select_related(
            "need",
            "insight",
            "insight__stakeholder",
            "insight__segment",
            "insight__stakeholder__segment",
        )
        .order_by("-importance", "-insight__captured_at", "-id")[:limit]
    )


def feature_delivery(feature: Feature) -> dict:
    return {
        "evaluations": list(
            Evaluation.objects.filter(feature=feature)
            .select_related("by")
            .order_by("-created_at", "-id")
        ),
        "requests": list(
            EvaluationRequest.objects.filter(
                feature=feature, state=RequestState.OPEN
            ).select_related("assignee", "requested_by")
        ),
        "ux_tests": list(
            UxTest.objects.filter(feature=feature)
            .select_related("by")
            .prefetch_related("participants__segment")
        ),
        "qa_checks": list(QaCheck.objects.filter(feature=feature).select_related("by")),
        "rollout": list(RolloutStage.objects.filter(feature=feature).select_related("segment")),
        "demos": list(Demo.objects.filter(feature=feature).select_related("by")),
    }


def feature_communication(feature: Feature) -> dict:
    return {
        "comms": list(CommsItem.objects.filter(feature=feature)),
        "onboarding": list(OnboardingStep.objects.filter(feature=feature)),
    }


def qa_summary(checks: list[QaCheck]) -> dict:
    passed = sum(1 for c in checks if c.result == "pass")
    failed = sum(1 for c in checks if c.result == "fail")
    return {"total": len(checks), "passed": passed, "failed": failed}


def board_columns(workspace, *, squad=None, per_column: int = 50) -> list[dict]:
    """One column per status in flow order (declined and parked last, collapsed); each with its
    count and its highest-scored cards."""
    base = Feature.objects.filter(workspace=workspace)
    if squad:
        base = base.filter(squad_id=squad)
    counts = dict(
        base.order_by().values("status").annotate(n=Count("id")).values_list("status", "n")
    )
    columns = []
    for status in STATUS_ORDER:
        cards = list(
            base.filter(status=status)
            .select_related("squad")
            .order_by(F("score").desc(nulls_last=True), "-demand", "-id")[:per_column]
        )
        columns.append(
            {
                "status": status,
                "count": counts.get(status.value, 0),
                "cards": cards,
                "collapsed": status in BOARD_COLLAPSED,
            }
        )
    all_cards = [c for col in columns for c in col["cards"]]
    counts_by_id = insight_counts([c.pk for c in all_cards])
    for card in all_cards:
        card.insight_count = counts_by_id.get(card.pk, 0)
        card.next_status = _next_status(card.status)
    return columns


def _next_status(status: str) -> str:
    from quarterdeck.backlog.status import allowed_targets

    targets = allowed_targets(status)
    return targets[0].value if targets else ""


def card(workspace, pk) -> Feature:
    feature = Feature.objects.filter(workspace=workspace).select_related("squad").get(pk=pk)
    feature.insight_count = insight_counts([feature.pk]).get(feature.pk, 0)
    feature.next_status = _next_status(feature.status)
    return feature


def my_evaluation_requests(workspace, user) -> QuerySet[EvaluationRequest]:
    return (
        EvaluationRequest.objects.filter(
            feature__workspace=workspace, assignee=user, state=RequestState.OPEN
        )
        .select_related("feature", "feature__squad", "requested_by")
        .order_by("created_at", "id")
    )


def open_request_count(workspace, user) -> int:
    return EvaluationRequest.objects.filter(
        feature__workspace=workspace, assignee=user, state=RequestState.OPEN
    ).count()


def workspace_members(workspace):
    from quarterdeck.accounts.models import User

    return User.objects.filter(memberships__workspace=workspace).order_by("full_name", "email")


def engineers(workspace):
    """Members who can write (they estimate work), squad engineers first."""
    from quarterdeck.accounts.models import WRITER_ROLES, User

    return (
        User.objects.filter(memberships__workspace=workspace, memberships__role__in=WRITER_ROLES)
        .order_by("full_name", "email")
        .distinct()
    )


def is_closed(status: str) -> bool:
    return status in CLOSED_STATUSES
