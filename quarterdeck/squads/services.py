"""Writes on squads and their members."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from quarterdeck.core import activity
from quarterdeck.squads.models import Squad, SquadMember, SquadRole

SQUAD_FIELDS = ("name", "mission", "product_manager", "color")


def _validate_squad(squad: Squad) -> None:
    errors = {}
    if not (squad.name or "").strip():
        errors["name"] = _("A squad has a name.")
    elif (
        Squad.objects.filter(workspace_id=squad.workspace_id, name__iexact=squad.name.strip())
        .exclude(pk=squad.pk)
        .exists()
    ):
        errors["name"] = _("Another squad has this name.")
    pm = squad.product_manager
    if pm is not None and not pm.memberships.filter(workspace_id=squad.workspace_id).exists():
        errors["product_manager"] = _("The product manager must be a member of the workspace.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def squad_create(
    *, workspace, name: str, by=None, mission: str = "", product_manager=None, **extra
):
    squad = Squad(
        workspace=workspace,
        name=(name or "").strip(),
        mission=mission,
        product_manager=product_manager,
        **extra,
    )
    _validate_squad(squad)
    squad.save()
    if product_manager is not None:
        SquadMember.objects.get_or_create(
            squad=squad, user=product_manager, role=SquadRole.PRODUCT_MANAGER
        )
    activity.record(workspace=workspace, actor=by, verb="created", target=squad)
    return squad


@transaction.atomic
def squad_update(*, squad: Squad, by=None, **fields) -> Squad:
    activity.update(
        squad,
        fields=fields,
        allowed=SQUAD_FIELDS,
        validate=_validate_squad,
        workspace=squad.workspace,
        by=by,
    )
    return squad


@transaction.atomic
def squad_member_add(*, squad: Squad, user, role: str, by=None) -> SquadMember:
    if role not in SquadRole.values:
        raise ValidationError(
            {
                "role": _("Unknown role “%(r)s”; expected one of %(all)s")
                % {"r": role, "all": ", ".join(SquadRole.values)}
            }
        )
    if not user.memberships.filter(workspace_id=squad.workspace_id).exists():
        raise ValidationError({"user": _("Only members of the workspace can join a squad.")})
    member, created = SquadMember.objects.get_or_create(squad=squad, user=user, role=role)
    if created:
        activity.record(
            workspace=squad.workspace,
            actor=by,
            verb="member_added",
            target=squad,
            changes={"member": [None, f"{user} ({role})"]},
        )
    return member


@transaction.atomic
def squad_member_remove(*, member: SquadMember, by=None) -> None:
    squad = member.squad
    label = f"{member.user} ({member.role})"
    member.delete()
    activity.record(
        workspace=squad.workspace,
        actor=by,
        verb="member_removed",
        target=squad,
        changes={"member": [label, None]},
    )
