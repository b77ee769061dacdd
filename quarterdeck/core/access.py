"""Fetch-and-authorize helpers: every object a view touches comes through here.

An object outside the requester's workspace is a 404, never a 403, so that its existence does
not leak. A member whose role cannot write gets a 403 on write actions.
"""

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest

M = TypeVar("M", bound=models.Model)


def scoped(request: HttpRequest, queryset: "models.QuerySet[M]", field: str = "workspace"):
    """`queryset` restricted to the requester's workspace."""
    return queryset.filter(**{field: request.workspace})


def get_for(
    request: HttpRequest, queryset: "models.QuerySet[M]", pk, field: str = "workspace"
) -> M:
    """The object `pk` if it belongs to the requester's workspace, else 404."""
    try:
        return scoped(request, queryset, field).get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def require_write(request: HttpRequest) -> None:
    if not getattr(request, "membership", None) or not request.membership.can_write:
        raise PermissionDenied


def require_manage(request: HttpRequest) -> None:
    if not getattr(request, "membership", None) or not request.membership.can_manage:
        raise PermissionDenied


def writer_required(view: Callable) -> Callable:
    """Refuse non-GET requests from members whose role cannot write (viewers, stakeholders)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in {"GET", "HEAD", "OPTIONS"}:
            require_write(request)
        return view(request, *args, **kwargs)

    return wrapper
