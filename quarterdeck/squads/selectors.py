from django.db.models import Count, Prefetch, QuerySet

from quarterdeck.squads.models import Squad, SquadMember


def squads(workspace) -> QuerySet[Squad]:
    return (
        Squad.objects.filter(workspace=workspace)
        .select_related("product_manager")
        .prefetch_related(Prefetch("members", SquadMember.objects.select_related("user")))
        .annotate(feature_count=Count("features", distinct=True))
    )
