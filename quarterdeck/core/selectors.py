"""Reads that span apps: the workspace home and the activity feed."""

from django.db.models import Count

from quarterdeck.core.models import Activity


def attention(workspace) -> dict:
    """What needs the product team's attention now."""
    from quarterdeck.backlog.models import Status
    from quarterdeck.backlog.selectors import features_in_workspace
    from quarterdeck.insights.selectors import inbox_queryset
    from quarterdeck.strategy.selectors import key_results_at_risk

    untriaged = inbox_queryset(workspace, state="new")
    counts = dict(
        features_in_workspace(workspace)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    by_status = [(s, counts.get(s.value, 0)) for s in Status]
    return {
        "untriaged_count": untriaged.count(),
        "untriaged": untriaged[:8],
        "features_by_status": by_status,
        "feature_total": sum(counts.values()),
        "at_risk": key_results_at_risk(workspace),
        "recent_activity": activity_feed(workspace)[:10],
    }


def activity_feed(workspace):
    return Activity.objects.filter(workspace=workspace).select_related("actor")
