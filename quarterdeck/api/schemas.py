"""Schemas and look-ups shared by the API's resource modules."""

import datetime as dt
from collections.abc import Callable

from django.utils import timezone
from ninja import Schema
from pydantic import ConfigDict

from quarterdeck.accounts.models import User
from quarterdeck.api.base import Problem


class In(Schema):
    """Base of every request body: unknown fields are refused with a 400 naming them."""

    model_config = ConfigDict(extra="forbid")


class ProblemOut(Schema):
    """An error (RFC 9457 problem details); `errors` lists the messages for each field."""

    type: str
    title: str
    status: int
    detail: str
    errors: dict[str, list[str]] | None = None


READ_ERRORS = {400: ProblemOut, 401: ProblemOut, 404: ProblemOut}
WRITE_ERRORS = {400: ProblemOut, 401: ProblemOut, 403: ProblemOut, 404: ProblemOut, 409: ProblemOut}


def invalid(field: str, message: str) -> Problem:
    return Problem(400, "Invalid input", f"{field}: {message}", {field: [message]})


def conflict(field: str, message: str, existing: int | None = None) -> Problem:
    """A 409 naming the field whose value is taken and, when known, the id holding it."""
    extra = {"existing": existing} if existing is not None else {}
    return Problem(409, "Conflict", message, {field: [message]}, **extra)


def one_in(queryset, pk, *, field: str, what: str):
    """The object `pk` of a workspace-scoped `queryset`, else a 400 naming `field`."""
    if pk is None:
        return None
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise invalid(field, f"No {what} {pk} in this workspace.")
    return obj


def many_in(queryset, pks, *, field: str, what: str) -> list:
    """The objects `pks` of a workspace-scoped `queryset` (in the given order), else a 400."""
    wanted = list(dict.fromkeys(pks))
    found = {obj.pk: obj for obj in queryset.filter(pk__in=wanted)}
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        ids = ", ".join(str(pk) for pk in missing)
        raise invalid(field, f"No {what} {ids} in this workspace.")
    return [found[pk] for pk in wanted]


def member(request, value: int | str | None, *, field: str) -> User | None:
    """A member of the request's workspace given by user id or email address, else a 400."""
    if value is None:
        return None
    users = User.objects.filter(memberships__workspace=request.workspace)
    if isinstance(value, int):
        user = users.filter(pk=value).first()
    else:
        user = users.filter(email__iexact=value.strip()).first()
    if user is None:
        raise invalid(field, f"No member {value} in this workspace (give a user id or email).")
    return user


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """Datetimes without a timezone are taken in the server's timezone."""
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def list_params(limit: int | None, cursor: str | None, next_: str | None) -> dict:
    """`paginate` keyword arguments; the cursor may come as `cursor` or `next`."""
    return {"limit": limit, "cursor": cursor or next_}


def rescore(feature_ids) -> Callable[[], None]:
    """A callback asking for new scores of `feature_ids` (run it after commit)."""
    ids = sorted(set(feature_ids) - {None})

    def run() -> None:
        if ids:
            from quarterdeck.strategy.services import feature_inputs_changed

            feature_inputs_changed(feature_ids=ids)

    return run


def segments_by_key(workspace, keys, *, field: str) -> list:
    """The workspace's segments with these keys, else a 400 listing the known keys."""
    from quarterdeck.insights.selectors import segments

    known = {s.key: s for s in segments(workspace)}
    wanted = [str(k).strip().lower() for k in dict.fromkeys(keys)]
    unknown = [k for k in wanted if k not in known]
    if unknown:
        raise invalid(
            field,
            f"Unknown segment {', '.join(unknown)}; known segments: {', '.join(sorted(known))}",
        )
    return [known[k] for k in wanted]
