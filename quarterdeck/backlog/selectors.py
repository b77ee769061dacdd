"""Reads for the backlog, the feature page and the API."""

from django.db.models import Count, Prefetch, Q, QuerySet

from quarterdeck.backlog.models import Evaluation, Feature, FeatureDriver


def features_in_workspace(workspace) -> QuerySet[Feature]:
    return Feature.objects.filter(workspace=workspace)


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
) -> QuerySet[Feature]:
    qs = Feature.objects.filter(workspace=workspace).select_related("squad", "owner", "parent")
    if status:
        qs = qs.filter(status__in=[status] if isinstance(status, str) else status)
    if squad:
        qs = qs.filter(squad_id=squad)
    if driver:
        qs = qs.filter(driver_links__driver_id=driver, driver_links__contribution__gt=0)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(description__icontains=q))
    if parent:
        qs = qs.filter(parent_id=parent)
    if top_level:
        qs = qs.filter(parent__isnull=True)
    orderings = {
        "score": ["score", "id"],
        "-score": ["-score", "-id"],
        "title": ["title", "id"],
        "-title": ["-title", "-id"],
        "status": ["status", "id"],
        "demand": ["demand", "id"],
        "-demand": ["-demand", "-id"],
        "created": ["created_at", "id"],
        "-created": ["-created_at", "-id"],
    }
    order = orderings.get(ordering or "", ["-created_at", "-id"])
    if ordering in ("-score", "score"):
        from django.db.models import F

        field = (
            F("score").desc(nulls_last=True)
            if ordering == "-score"
            else F("score").asc(nulls_last=True)
        )
        return qs.order_by(field, "-id")
    return qs.order_by(*order)


def with_children_counts(qs: QuerySet[Feature]) -> QuerySet[Feature]:
    return qs.annotate(
        slice_count=Count("children", distinct=True),
        slice_done=Count(
            "children", filter=Q(children__status__in=["shipped", "measured"]), distinct=True
        ),
    )


def feature_detail(workspace, pk) -> Feature:
    return (
        Feature.objects.filter(workspace=workspace)
        .select_related("squad", "owner", "parent")
        .prefetch_related(
            "needs",
            "key_results__objective",
            Prefetch("driver_links", FeatureDriver.objects.select_related("driver")),
            Prefetch("evaluations", Evaluation.objects.select_related("by")),
            Prefetch("children", Feature.objects.select_related("squad").order_by("id")),
        )
        .get(pk=pk)
    )


def latest_evaluation(feature: Feature) -> Evaluation | None:
    return feature.evaluations.order_by("-created_at", "-id").first()
