"""The REST API's shared parts: token auth, problem+json errors and cursor pagination."""

import base64
import datetime as dt
import json
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, transaction
from django.http import Http404, HttpRequest, JsonResponse
from django.utils import timezone
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from quarterdeck.accounts.models import ApiToken, Membership

PROBLEM = "application/problem+json"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_LIMIT = 500
DEFAULT_LIMIT = 50


class Problem(Exception):
    """An error answered as application/problem+json."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        errors: dict | None = None,
        type_: str = "about:blank",
        **extra: Any,
    ):
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.errors, self.type, self.extra = errors or {}, type_, extra


def problem_response(
    status: int,
    title: str,
    detail: str = "",
    errors: dict | None = None,
    type_: str = "about:blank",
    **extra: Any,
) -> JsonResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    body.update(extra)
    return JsonResponse(body, status=status, content_type=PROBLEM)


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <token>`: the token's workspace and member become the request's."""

    def __init__(self, *, refuse_readers: bool = False):
        super().__init__()
        # With `refuse_readers`, a write (POST, PATCH, PUT, DELETE) by a role that cannot make
        # changes (viewer, stakeholder) is a 403 before its body is read. Endpoints where such
        # roles act on their own behalf (following a feature) use the plain instance.
        self.refuse_readers = refuse_readers

    def authenticate(self, request: HttpRequest, token: str):
        api_token = ApiToken.objects.for_key(token).first()
        if api_token is None:
            return None
        membership = Membership.objects.filter(
            workspace=api_token.workspace, user=api_token.user
        ).first()
        if membership is None or not api_token.user.is_active:
            return None
        now = timezone.now()
        if api_token.last_used_at is None or now - api_token.last_used_at > dt.timedelta(minutes=5):
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        request.workspace = api_token.workspace
        request.membership = membership
        request.user = api_token.user
        if self.refuse_readers and request.method not in SAFE_METHODS:
            require_write(request)
        return api_token


PROBLEM_SCHEMA = {
    "title": "Problem",
    "description": "An error (RFC 9457 problem details); `errors` lists messages per field.",
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["type", "title", "status", "detail"],
}
ERROR_DESCRIPTIONS = {
    "400": "Invalid input: `errors` names each field",
    "401": "Missing or invalid token",
    "403": "The token's role cannot do this",
    "404": "No such object in the token's workspace",
    "409": "Conflict with the current state",
}


class QuarterdeckAPI(NinjaAPI):
    """The API instance; its schema documents every error answer as application/problem+json."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("Problem", PROBLEM_SCHEMA)
        problem = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for code in list(responses):
                    content = responses[code].get("content") or {}
                    if str(code).startswith(("4", "5")) and "application/json" in content:
                        responses[code]["content"] = {PROBLEM: content["application/json"]}
                wanted = ["400"]
                if operation.get("security"):
                    wanted.append("401")
                    if method != "get":
                        wanted.append("403")
                if "{" in path:
                    wanted.append("404")
                present = {str(code) for code in responses}
                for code in wanted:
                    if code not in present:
                        responses[code] = {
                            "description": ERROR_DESCRIPTIONS[code],
                            "content": problem,
                        }
        return schema


api = QuarterdeckAPI(
    title="Quarterdeck API",
    version="1",
    description=(
        "Insights, needs, features, drivers, OKRs, squads, meetings and newsletters of one "
        "workspace. Authenticate with `Authorization: Bearer <token>` (create a token in the "
        "app or with `quarterdeck create_token`); a token acts in its own workspace only, and "
        "viewers' and stakeholders' tokens cannot change the workspace's data. Lists answer "
        '`{"results": [...], "next": <cursor or null>}`: pass `next` back as `cursor` (or '
        "`next`) with the same `limit` (1–500, default 50) for the following page. Errors are "
        "application/problem+json with `type`, `title`, `status`, `detail` and, for invalid "
        "input, `errors` listing the messages of each field."
    ),
    auth=TokenAuth(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


# The authentication of the resource routers: readers' tokens cannot write there.
writer_auth = TokenAuth(refuse_readers=True)


def _field_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            field: [str(m) for e in errs for m in e.messages]
            for field, errs in exc.error_dict.items()
        }
    return {"__all__": [str(m) for m in exc.messages]}


@api.exception_handler(Problem)
def _problem(request, exc: Problem):
    return problem_response(exc.status, exc.title, exc.detail, exc.errors, exc.type, **exc.extra)


@api.exception_handler(DjangoValidationError)
def _django_validation(request, exc: DjangoValidationError):
    errors = _field_errors(exc)
    detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
    return problem_response(400, "Invalid input", detail, errors)


@api.exception_handler(NinjaValidationError)
def _ninja_validation(request, exc: NinjaValidationError):
    errors: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "payload", "query", "path")]
        errors.setdefault(".".join(loc) or "__all__", []).append(err.get("msg", "invalid"))
    detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
    return problem_response(400, "Invalid input", detail, errors)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    response = problem_response(
        401, "Not authenticated", "Send a valid token as 'Authorization: Bearer <token>'."
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Http404)
def _not_found(request, exc):
    return problem_response(404, "Not found", str(exc) or "No such object in this workspace.")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    titles = {
        400: "Bad request",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        409: "Conflict",
        429: "Too many requests",
    }
    return problem_response(exc.status_code, titles.get(exc.status_code, "Error"), str(exc))


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def _out_of_range(request, exc):
    return problem_response(
        400, "Invalid input", "A value is out of range for the database (e.g. an id too large)."
    )


@api.exception_handler(IntegrityError)
def _integrity(request, exc: IntegrityError):
    return problem_response(
        409, "Conflict", "The change clashes with an existing object (a unique value is taken)."
    )


def require_write(request) -> None:
    if not request.membership.can_write:
        raise Problem(403, "Forbidden", "Your role in this workspace cannot make changes.")


def require_manage(request) -> None:
    if not request.membership.can_manage:
        raise Problem(403, "Forbidden", "Only admins and product managers can do this.")


def get_or_404(queryset, pk, what: str = "object"):
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise Problem(404, "Not found", f"No {what} {pk} in this workspace.")
    return obj


def _encode(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def _decode(cursor: str) -> dict:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
        if not isinstance(data, dict):
            raise ValueError
        return data
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(
            400,
            "Invalid cursor",
            "The cursor is not one this API returned.",
            {"cursor": ["invalid cursor"]},
        ) from exc


def paginate(request, queryset, *, limit: int | None, cursor: str | None, keyset: bool = True):
    """One page of `queryset` and the cursor for the next (None at the end).

    With `keyset`, the queryset is ordered by descending id and the cursor holds the last id seen,
    so pages stay stable while rows are added; otherwise the cursor holds an offset.
    """
    limit = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_LIMIT:
        raise Problem(
            400,
            "Invalid limit",
            f"limit must be between 1 and {MAX_LIMIT}.",
            {"limit": [f"must be between 1 and {MAX_LIMIT}"]},
        )
    state = _decode(cursor) if cursor else {}
    try:
        before = int(state["before"]) if "before" in state else None
        offset = max(0, int(state.get("offset", 0)))
    except (TypeError, ValueError) as exc:
        raise Problem(
            400,
            "Invalid cursor",
            "The cursor is not one this API returned.",
            {"cursor": ["invalid cursor"]},
        ) from exc
    if keyset:
        queryset = queryset.order_by("-id")
        if before is not None:
            queryset = queryset.filter(id__lt=before)
        rows = list(queryset[: limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = _encode({"before": rows[-1].pk}) if more and rows else None
    else:
        rows = list(queryset[offset : offset + limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = _encode({"offset": offset + limit}) if more else None
    return rows, nxt


def delete_with_activity(*, obj, workspace, by, after=None) -> None:
    """Delete `obj` and record who did it, in one transaction; `after` runs on commit."""
    from quarterdeck.core import activity

    with transaction.atomic():
        activity.record(workspace=workspace, actor=by, verb="deleted", target=obj)
        obj.delete()
        if after is not None:
            # A failing follow-up (rescoring) is logged; it must not undo the answer.
            transaction.on_commit(after, robust=True)


def api_not_found(request, *args, **kwargs):
    """Any other path under /api/v1/: a problem+json 404 rather than an HTML page."""
    return problem_response(
        404, "Not found", f"No API endpoint at {request.path}. See /api/v1/docs for the endpoints."
    )
