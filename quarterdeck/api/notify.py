"""Followers of a feature, and outgoing webhooks with their deliveries."""

import datetime as dt

from django.http import HttpResponse
from ninja import Router, Schema

from quarterdeck.accounts.models import Membership
from quarterdeck.api.base import Problem, get_or_404, paginate, require_manage, require_write
from quarterdeck.backlog.models import Feature
from quarterdeck.insights.models import Stakeholder
from quarterdeck.notify import selectors, services
from quarterdeck.notify.models import Delivery, Webhook

router = Router(tags=["notifications"])


class FollowerOut(Schema):
    type: str
    id: int
    name: str
    email: str
    reason: str
    needs: list[int]


class FollowerIn(Schema):
    user: int | None = None
    stakeholder: int | None = None


class FollowerList(Schema):
    results: list[FollowerOut]
    next: str | None


class WebhookIn(Schema):
    url: str
    description: str = ""
    events: list[str] = []


class WebhookPatch(Schema):
    url: str | None = None
    description: str | None = None
    events: list[str] | None = None
    active: bool | None = None


class WebhookOut(Schema):
    id: int
    url: str
    description: str
    events: list[str]
    active: bool
    created_at: dt.datetime


class WebhookCreated(WebhookOut):
    secret: str


class WebhookList(Schema):
    results: list[WebhookOut]
    next: str | None


class AttemptOut(Schema):
    number: int
    at: dt.datetime
    ok: bool
    response_status: int | None
    response_body: str
    error: str
    duration_ms: int


class DeliveryOut(Schema):
    id: int
    event: dict
    state: str
    attempts: int
    next_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None
    response_status: int | None
    response_body: str
    last_error: str
    request_body: str
    created_at: dt.datetime
    history: list[AttemptOut]


class DeliveryList(Schema):
    results: list[DeliveryOut]
    next: str | None


def _follower(f: selectors.Follower) -> dict:
    return {
        "type": f.kind,
        "id": f.id,
        "name": f.name,
        "email": f.email,
        "reason": f.reason,
        "needs": [n.pk for n in f.needs],
    }


def _feature(request, feature_id: int) -> Feature:
    return get_or_404(
        Feature.objects.filter(workspace=request.workspace).select_related("workspace"),
        feature_id,
        "feature",
    )


def _recipient(request, user: int | None, stakeholder: int | None) -> dict:
    """The follower a request names: a member, a stakeholder, or (neither) the requester."""
    if user is not None and stakeholder is not None:
        raise Problem(
            400,
            "Invalid input",
            "Name either a user or a stakeholder, not both.",
            {"user": ["give user or stakeholder, not both"]},
        )
    if stakeholder is not None:
        require_write(request)
        return {
            "stakeholder": get_or_404(
                Stakeholder.objects.filter(workspace=request.workspace), stakeholder, "stakeholder"
            )
        }
    if user is not None and user != request.user.pk:
        require_write(request)
        membership = (
            Membership.objects.filter(workspace=request.workspace, user_id=user)
            .select_related("user")
            .first()
        )
        if membership is None:
            raise Problem(404, "Not found", f"No member {user} in this workspace.")
        return {"user": membership.user}
    return {"user": request.user}


@router.get("/features/{feature_id}/followers", response=FollowerList)
def followers(request, feature_id: int, limit: int | None = None, cursor: str | None = None):
    """Everyone who gets this feature's updates: explicit followers, followers of its needs,
    and the stakeholders whose insights are linked to its needs (`reason` says which)."""
    feature = _feature(request, feature_id)
    rows, nxt = paginate(
        request, selectors.feature_followers(feature), limit=limit, cursor=cursor, keyset=False
    )
    return {"results": [_follower(f) for f in rows], "next": nxt}


@router.post("/features/{feature_id}/followers", response={201: FollowerOut})
def follow(request, feature_id: int, payload: FollowerIn):
    """Follow the feature: yourself (empty body), or (contributors and up) someone else."""
    feature = _feature(request, feature_id)
    recipient = _recipient(request, payload.user, payload.stakeholder)
    services.follow(target=feature, by=request.user, **recipient)
    key = (
        ("user", recipient["user"].pk)
        if "user" in recipient
        else (
            "stakeholder",
            recipient["stakeholder"].pk,
        )
    )
    for f in selectors.feature_followers(feature):
        if f.key == key:
            return 201, _follower(f)
    obj = recipient.get("user") or recipient["stakeholder"]
    return 201, {
        "type": key[0],
        "id": key[1],
        "name": str(obj),
        "email": obj.email or "",
        "reason": "explicit",
        "needs": [],
    }


@router.delete("/features/{feature_id}/followers", response={204: None})
def unfollow(request, feature_id: int, user: int | None = None, stakeholder: int | None = None):
    """Stop the feature's updates for yourself, or (`?user=` / `?stakeholder=`) for someone else.
    An unfollow wins over the automatic follow of a stakeholder who asked for it."""
    feature = _feature(request, feature_id)
    recipient = _recipient(request, user, stakeholder)
    services.unfollow(target=feature, by=request.user, **recipient)
    return HttpResponse(status=204)


def _webhook_out(hook: Webhook) -> dict:
    return {
        "id": hook.pk,
        "url": hook.url,
        "description": hook.description,
        "events": hook.events,
        "active": hook.active,
        "created_at": hook.created_at,
    }


@router.get("/webhooks", response=WebhookList)
def webhook_list(request, limit: int | None = None, cursor: str | None = None):
    """Outgoing webhooks of the workspace (admins and product managers)."""
    require_manage(request)
    rows, nxt = paginate(request, selectors.webhooks(request.workspace), limit=limit, cursor=cursor)
    return {"results": [_webhook_out(h) for h in rows], "next": nxt}


@router.post("/webhooks", response={201: WebhookCreated})
def webhook_create(request, payload: WebhookIn):
    """Add a webhook. The answer holds its signing `secret`: every request carries
    `X-Quarterdeck-Signature: sha256=<hex HMAC-SHA256 of the raw body keyed with the secret>`."""
    require_manage(request)
    hook = services.webhook_create(
        workspace=request.workspace,
        url=payload.url,
        description=payload.description,
        events=payload.events,
        by=request.user,
    )
    return 201, {**_webhook_out(hook), "secret": hook.secret}


@router.get("/webhooks/{webhook_id}", response=WebhookOut)
def webhook_detail(request, webhook_id: int):
    require_manage(request)
    return _webhook_out(
        get_or_404(Webhook.objects.filter(workspace=request.workspace), webhook_id, "webhook")
    )


@router.patch("/webhooks/{webhook_id}", response=WebhookOut)
def webhook_update(request, webhook_id: int, payload: WebhookPatch):
    """Change a webhook; `{"active": false}` disables it."""
    require_manage(request)
    hook = get_or_404(Webhook.objects.filter(workspace=request.workspace), webhook_id, "webhook")
    services.webhook_update(webhook=hook, by=request.user, **payload.dict(exclude_unset=True))
    return _webhook_out(hook)


def _delivery_out(d: Delivery) -> dict:
    return {
        "id": d.pk,
        "event": {
            "id": f"evt_{d.event_id}",
            "type": d.event.webhook_type,
            "feature": d.event.feature_id,
            "from": d.event.old_status,
            "to": d.event.new_status,
        },
        "state": d.state,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at,
        "sent_at": d.sent_at,
        "response_status": d.response_status,
        "response_body": d.response_body,
        "last_error": d.last_error,
        "request_body": d.request_body,
        "created_at": d.created_at,
        "history": [
            {
                "number": t.number,
                "at": t.created_at,
                "ok": t.ok,
                "response_status": t.response_status,
                "response_body": t.response_body,
                "error": t.error,
                "duration_ms": t.duration_ms,
            }
            for t in d.tries.all()
        ],
    }


@router.get("/webhooks/{webhook_id}/deliveries", response=DeliveryList)
def webhook_deliveries(
    request, webhook_id: int, limit: int | None = None, cursor: str | None = None
):
    """Every delivery of the webhook, newest first, with each attempt's response."""
    require_manage(request)
    hook = get_or_404(Webhook.objects.filter(workspace=request.workspace), webhook_id, "webhook")
    rows, nxt = paginate(request, selectors.webhook_deliveries(hook), limit=limit, cursor=cursor)
    return {"results": [_delivery_out(d) for d in rows], "next": nxt}
