from django.db.models import Count, Prefetch, QuerySet

from quarterdeck.squads.models import Squad, SquadMember, SquadRole


def squads(workspace) -> QuerySet[Squad]:
    return (
        Squad.objects.filter(workspace=workspace)
        .select_related("product_manager")
        .prefetch_related(Prefetch("members", SquadMember.objects.select_related("user")))
        .annotate(
            feature_count=Count("features", distinct=True),
            objective_count=Count("objectives", distinct=True),
        )
    )


def members_by_role(squad: Squad) -> list[tuple[str, list[SquadMember]]]:
    """(role label, members) in the order of SquadRole, from prefetched members."""
    grouped: dict[str, list[SquadMember]] = {}
    for member in squad.members.all():
        grouped.setdefault(member.role, []).append(member)
    return [(role.label, grouped[role.value]) for role in SquadRole if role.value in grouped]


def squad_detail(workspace, pk) -> Squad:
    return squads(workspace).get(pk=pk)


def squad_objectives(squad: Squad, *, quarter: str):
    from quarterdeck.strategy.selectors import okr_objectives

    return okr_objectives(squad.workspace, quarter=quarter, squad=squad.pk)


def squad_features_by_status(squad: Squad) -> list[tuple[str, list]]:
    """The squad's features grouped by status, in the order of the status flow."""
    from quarterdeck.backlog.models import Feature, Status

    features = (
        Feature.objects.filter(squad=squad)
        .select_related("workspace", "squad")
        .order_by("-score", "title")
    )
    grouped: dict[str, list] = {}
    for feature in features:
        grouped.setdefault(feature.status, []).append(feature)
    return [(status, grouped[status.value]) for status in Status if status.value in grouped]
