"""`/api/v1/drivers`: the strategic drivers features serve, with their weights."""

import datetime as dt

from ninja import Field, Router, Schema

from quarterdeck.api.base import (
    delete_with_activity,
    get_or_404,
    paginate,
    require_manage,
    writer_auth,
)
from quarterdeck.api.schemas import READ_ERRORS, WRITE_ERRORS, In, conflict, list_params
from quarterdeck.strategy import selectors, services
from quarterdeck.strategy.models import Driver

router = Router(tags=["drivers"], auth=writer_auth)


class DriverOut(Schema):
    id: int
    name: str
    description: str
    weight: float
    created_at: dt.datetime
    updated_at: dt.datetime


class DriverPage(Schema):
    results: list[DriverOut]
    next: str | None


class DriverCreate(In):
    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    weight: float = Field(1.0, ge=0)


class DriverUpdate(In):
    name: str = Field(None, min_length=1, max_length=100)
    description: str = None
    weight: float = Field(None, ge=0)


def _out(d: Driver) -> dict:
    return {
        "id": d.pk,
        "name": d.name,
        "description": d.description,
        "weight": d.weight,
        "created_at": d.created_at,
        "updated_at": d.updated_at,
    }


def _get(request, pk: int) -> Driver:
    return get_or_404(selectors.drivers(request.workspace), pk, "driver")


def _check_name(request, name: str | None, current: Driver | None = None) -> None:
    if not name:
        return
    clash = selectors.drivers(request.workspace).filter(name__iexact=name.strip())
    if current is not None:
        clash = clash.exclude(pk=current.pk)
    existing = clash.values_list("pk", flat=True).first()
    if existing:
        raise conflict("name", f"Driver {existing} already has this name.", existing)


@router.get("", response={200: DriverPage, **READ_ERRORS}, summary="List drivers")
def list_drivers(
    request, limit: int | None = None, cursor: str | None = None, next: str | None = None
):
    rows, nxt = paginate(
        request, selectors.drivers(request.workspace), **list_params(limit, cursor, next)
    )
    return {"results": [_out(d) for d in rows], "next": nxt}


@router.post("", response={201: DriverOut, **WRITE_ERRORS}, summary="Create a driver")
def create_driver(request, payload: DriverCreate):
    """Admins and product managers only; 409 when the name is taken."""
    require_manage(request)
    _check_name(request, payload.name)
    driver = services.driver_create(
        workspace=request.workspace, by=request.user, **payload.model_dump()
    )
    return 201, _out(driver)


@router.get("/{id}", response={200: DriverOut, **READ_ERRORS}, summary="Get a driver")
def get_driver(request, id: int):
    return _out(_get(request, id))


def _update(request, id: int, data: dict):
    require_manage(request)
    driver = _get(request, id)
    _check_name(request, data.get("name"), driver)
    services.driver_update(driver=driver, by=request.user, **data)
    return _out(_get(request, id))


@router.patch("/{id}", response={200: DriverOut, **WRITE_ERRORS}, summary="Update a driver")
def patch_driver(request, id: int, payload: DriverUpdate):
    """Changing the weight rescores every feature of the workspace."""
    return _update(request, id, payload.model_dump(exclude_unset=True))


@router.put("/{id}", response={200: DriverOut, **WRITE_ERRORS}, summary="Replace a driver")
def put_driver(request, id: int, payload: DriverCreate):
    return _update(request, id, payload.model_dump())


@router.delete("/{id}", response={204: None, **WRITE_ERRORS}, summary="Delete a driver")
def delete_driver(request, id: int):
    """Features stop serving it; their scores are recomputed."""
    require_manage(request)
    driver = _get(request, id)
    workspace = request.workspace
    delete_with_activity(
        obj=driver,
        workspace=workspace,
        by=request.user,
        after=lambda: services.workspace_inputs_changed(workspace=workspace),
    )
    return 204, None
