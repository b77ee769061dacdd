"""`/api/v1/squads`: squads with their mission, product manager and members."""

import datetime as dt

from django.db import transaction
from ninja import Field, Router, Schema

from quarterdeck.api.base import (
    delete_with_activity,
    get_or_404,
    paginate,
    require_manage,
    writer_auth,
)
from quarterdeck.api.schemas import READ_ERRORS, WRITE_ERRORS, In, conflict, list_params, member
from quarterdeck.squads import selectors, services
from quarterdeck.squads.models import Squad, SquadRole

router = Router(tags=["squads"], auth=writer_auth)


class MemberOut(Schema):
    user: int
    email: str
    name: str
    role: str


class SquadOut(Schema):
    id: int
    name: str
    mission: str
    product_manager: int | None = Field(description="User id.")
    color: str
    members: list[MemberOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class SquadPage(Schema):
    results: list[SquadOut]
    next: str | None


class MemberIn(In):
    user: int | str = Field(description="User id or email of a workspace member.")
    role: SquadRole


class SquadCreate(In):
    name: str = Field(min_length=1, max_length=100)
    mission: str = ""
    product_manager: int | str | None = Field(None, description="User id or email of a member.")
    color: str = Field("#2563eb", pattern=r"^#[0-9a-fA-F]{6}$")
    members: list[MemberIn] = Field(default_factory=list)


class SquadUpdate(In):
    name: str = Field(None, min_length=1, max_length=100)
    mission: str = None
    product_manager: int | str | None = None
    color: str = Field(None, pattern=r"^#[0-9a-fA-F]{6}$")
    members: list[MemberIn] = Field(None, description="Replaces the members as a whole.")


def _out(squad: Squad) -> dict:
    return {
        "id": squad.pk,
        "name": squad.name,
        "mission": squad.mission,
        "product_manager": squad.product_manager_id,
        "color": squad.color,
        "members": [
            {"user": m.user_id, "email": m.user.email, "name": str(m.user), "role": m.role}
            for m in squad.members.all()
        ],
        "created_at": squad.created_at,
        "updated_at": squad.updated_at,
    }


def _get(request, pk: int) -> Squad:
    return get_or_404(selectors.squads(request.workspace), pk, "squad")


def _check_name(request, name: str | None, current: Squad | None = None) -> None:
    if not name:
        return
    clash = Squad.objects.filter(workspace=request.workspace, name__iexact=name.strip())
    if current is not None:
        clash = clash.exclude(pk=current.pk)
    existing = clash.values_list("pk", flat=True).first()
    if existing:
        raise conflict("name", f"Squad {existing} already has this name.", existing)


def _members(request, members: list[dict]) -> list[tuple]:
    wanted = []
    for i, m in enumerate(members):
        user = member(request, m["user"], field=f"members.{i}.user")
        wanted.append((user, m["role"].value))
    return list(dict.fromkeys(wanted))


def _set_members(request, squad: Squad, wanted: list[tuple]) -> None:
    current = {(m.user_id, m.role): m for m in squad.members.select_related("user")}
    keep = {(user.pk, role) for user, role in wanted}
    for key, m in current.items():
        if key not in keep:
            services.squad_member_remove(member=m, by=request.user)
    for user, role in wanted:
        if (user.pk, role) not in current:
            services.squad_member_add(squad=squad, user=user, role=role, by=request.user)


@router.get("", response={200: SquadPage, **READ_ERRORS}, summary="List squads")
def list_squads(
    request, limit: int | None = None, cursor: str | None = None, next: str | None = None
):
    rows, nxt = paginate(
        request, selectors.squads(request.workspace), **list_params(limit, cursor, next)
    )
    return {"results": [_out(s) for s in rows], "next": nxt}


@router.post("", response={201: SquadOut, **WRITE_ERRORS}, summary="Create a squad")
def create_squad(request, payload: SquadCreate):
    """Admins and product managers only; 409 when the name is taken. The product manager
    joins as a member with the role `product_manager`."""
    require_manage(request)
    data = payload.model_dump()
    _check_name(request, data["name"])
    data["product_manager"] = member(request, data["product_manager"], field="product_manager")
    members = _members(request, data.pop("members"))
    with transaction.atomic():
        squad = services.squad_create(workspace=request.workspace, by=request.user, **data)
        for user, role in members:
            services.squad_member_add(squad=squad, user=user, role=role, by=request.user)
    return 201, _out(_get(request, squad.pk))


@router.get("/{id}", response={200: SquadOut, **READ_ERRORS}, summary="Get a squad")
def get_squad(request, id: int):
    return _out(_get(request, id))


def _update(request, id: int, data: dict):
    require_manage(request)
    squad = _get(request, id)
    _check_name(request, data.get("name"), squad)
    if "product_manager" in data:
        data["product_manager"] = member(request, data["product_manager"], field="product_manager")
    members = data.pop("members", None)
    wanted = _members(request, members) if members is not None else None
    with transaction.atomic():
        services.squad_update(squad=squad, by=request.user, **data)
        if wanted is not None:
            if squad.product_manager is not None:
                wanted.append((squad.product_manager, SquadRole.PRODUCT_MANAGER.value))
            _set_members(request, squad, list(dict.fromkeys(wanted)))
    return _out(_get(request, id))


@router.patch("/{id}", response={200: SquadOut, **WRITE_ERRORS}, summary="Update a squad")
def patch_squad(request, id: int, payload: SquadUpdate):
    """Only the fields sent change; `members` replaces the member list as a whole."""
    return _update(request, id, payload.model_dump(exclude_unset=True))


@router.put("/{id}", response={200: SquadOut, **WRITE_ERRORS}, summary="Replace a squad")
def put_squad(request, id: int, payload: SquadCreate):
    return _update(request, id, payload.model_dump())


@router.delete("/{id}", response={204: None, **WRITE_ERRORS}, summary="Delete a squad")
def delete_squad(request, id: int):
    """Its features and objectives stay, without a squad."""
    require_manage(request)
    squad = _get(request, id)
    delete_with_activity(obj=squad, workspace=request.workspace, by=request.user)
    return 204, None
