"""Every write of notify: follows, preferences, the notices of an important step, their deliveries.

The backlog calls `feature_status_changed` inside its transition's transaction; that records one
`Event` and, once the transaction commits, a background task fans it out to the followers
(computed then) and the webhooks, and each delivery is tried by its own task, retried with
exponential backoff. `deliveries_retry_due` sweeps whatever a dead worker left behind.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from quarterdeck.accounts.models import Membership, User, Workspace
from quarterdeck.backlog.models import Feature, Status
from quarterdeck.core import activity
from quarterdeck.insights.models import Need, Stakeholder
from quarterdeck.notify import mail, selectors, webhooks
from quarterdeck.notify.models import (
    KIND_FOR_STATUS,
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    EmailMode,
    Event,
    EventKind,
    Frequency,
    Notification,
    Preference,
    Subscription,
    Webhook,
)

logger = logging.getLogger(__name__)

BACKOFF_FIRST = dt.timedelta(seconds=30)
BACKOFF_FACTOR = 4
BACKOFF_CAP = dt.timedelta(hours=6)
LOCK_FOR = dt.timedelta(minutes=2)
FAN_OUT_GRACE = dt.timedelta(minutes=2)


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failed try: 30 s, 2 min, 8 min, 32 min… capped at 6 h."""
    return min(BACKOFF_FIRST * BACKOFF_FACTOR ** max(attempts - 1, 0), BACKOFF_CAP)


def _enqueue(task, *args) -> None:
    transaction.on_commit(lambda: task.enqueue(*args), robust=True)


# -- the hook the backlog calls ----------------------------------------------------------------


FLOW = [s for s in Status.values if s not in (Status.DECLINED, Status.PARKED)]


def _forward(old: str, new: str) -> bool:
    if old not in FLOW or new not in FLOW:
        return True
    return FLOW.index(new) > FLOW.index(old)


def feature_status_changed(*, feature: Feature, old: str, by=None) -> Event | None:
    """Record an important step of `feature` (if this move is one) and tell followers on commit.

    Important steps: accepted for study, in engineering, deploying soon (ready to deploy or
    rolling out), shipped, declined (with its reason). Moving between two statuses of the same
    step (ready to deploy → rolling out) is not a new step, and neither is a step back.
    """
    kind = KIND_FOR_STATUS.get(feature.status)
    if kind is None or KIND_FOR_STATUS.get(old) == kind:
        return None
    if kind != EventKind.DECLINED and not _forward(old, feature.status):
        return None  # a step back (QA sends it back, a rollback) is nobody's news
    event = Event.objects.create(
        workspace_id=feature.workspace_id,
        feature=feature,
        kind=kind,
        old_status=old,
        new_status=feature.status,
        reason=feature.decline_reason if kind == EventKind.DECLINED else "",
        actor=by if getattr(by, "is_authenticated", False) else None,
    )
    from quarterdeck.notify import tasks

    _enqueue(tasks.fan_out_event, event.pk)
    return event


# -- follows -----------------------------------------------------------------------------------


def _target_kwargs(target) -> dict:
    if isinstance(target, Feature):
        return {"feature": target}
    if isinstance(target, Need):
        return {"need": target}
    raise ValidationError({"target": _("Only features and needs can be followed.")})


def _recipient_kwargs(*, user=None, stakeholder=None) -> dict:
    if (user is None) == (stakeholder is None):
        raise ValidationError({"follower": _("Name either a member or a stakeholder.")})
    return {"user": user} if user is not None else {"stakeholder": stakeholder}


@transaction.atomic
def subscription_set(
    *, target, following: bool, user=None, stakeholder=None, by=None
) -> Subscription:
    """Record that a member or a stakeholder follows (or explicitly unfollows) a feature or need."""
    target_kw = _target_kwargs(target)
    recipient_kw = _recipient_kwargs(user=user, stakeholder=stakeholder)
    workspace_id = target.workspace_id
    if (
        user is not None
        and not Membership.objects.filter(workspace_id=workspace_id, user=user).exists()
    ):
        raise ValidationError({"user": _("No such member in this workspace.")})
    if stakeholder is not None and stakeholder.workspace_id != workspace_id:
        raise ValidationError({"stakeholder": _("No such stakeholder in this workspace.")})
    sub, created = Subscription.objects.get_or_create(
        workspace_id=workspace_id,
        **target_kw,
        **recipient_kw,
        defaults={"following": following, "changed_by": _actor(by)},
    )
    if not created and sub.following != following:
        sub.following = following
        sub.changed_by = _actor(by)
        sub.save(update_fields=["following", "changed_by", "updated_at"])
    elif not created:
        return sub
    if user is not None and getattr(by, "pk", None) == user.pk:
        return sub  # following for oneself is a personal preference, like read marks
    if following:
        verb = "followed"
    else:
        verb = "unfollowed" if _actor(by) else "unsubscribed"
    activity.record(
        workspace=target.workspace,
        actor=by,
        verb=verb,
        target=target,
        message=str(user or stakeholder),
    )
    return sub


def follow(*, target, by, user=None, stakeholder=None) -> Subscription:
    return subscription_set(
        target=target, following=True, user=user, stakeholder=stakeholder, by=by
    )


def unfollow(*, target, by, user=None, stakeholder=None) -> Subscription:
    return subscription_set(
        target=target, following=False, user=user, stakeholder=stakeholder, by=by
    )


def _actor(by):
    return by if getattr(by, "is_authenticated", False) else None


# -- preferences and the in-app inbox ----------------------------------------------------------


@transaction.atomic
def preference_set(
    *, workspace, email_frequency: str, user=None, stakeholder=None, by=None
) -> Preference:
    if email_frequency not in Frequency.values:
        raise ValidationError(
            {"email_frequency": _("Choose one of: %(all)s.") % {"all": ", ".join(Frequency.values)}}
        )
    recipient_kw = _recipient_kwargs(user=user, stakeholder=stakeholder)
    pref, created = Preference.objects.get_or_create(
        workspace=workspace, **recipient_kw, defaults={"email_frequency": email_frequency}
    )
    old = Frequency.IMMEDIATE if created else pref.email_frequency
    if not created and old != email_frequency:
        pref.email_frequency = email_frequency
        pref.save(update_fields=["email_frequency", "updated_at"])
    if old != email_frequency:
        activity.record(
            workspace=workspace,
            actor=by,
            verb="email_preference_changed",
            target=user or stakeholder,
            changes={"email_frequency": [old, email_frequency]},
        )
    return pref


def notification_mark_read(*, notification: Notification, read: bool = True) -> Notification:
    notification.read_at = timezone.now() if read else None
    notification.save(update_fields=["read_at", "updated_at"])
    return notification


def notifications_mark_all_read(*, user, workspace) -> int:
    return (
        Notification.objects.for_user(user, workspace)
        .unread()
        .update(read_at=timezone.now(), updated_at=timezone.now())
    )


# -- webhooks ----------------------------------------------------------------------------------


def _clean_webhook(url: str, description: str, events) -> tuple[str, str, list[str]]:
    errors = {}
    url = (url or "").strip()
    if not url:
        errors["url"] = _("A webhook needs the URL that receives the events.")
    elif len(url) > 500:
        errors["url"] = _("The URL is longer than 500 characters.")
    elif not webhooks.url_is_allowed(url):
        errors["url"] = _("Only http:// and https:// URLs can receive webhooks.")
    events = list(events or [])
    unknown = [e for e in events if e not in EventKind.values]
    if unknown:
        errors["events"] = _("Unknown event %(e)s; expected some of %(all)s.") % {
            "e": ", ".join(map(str, unknown)),
            "all": ", ".join(EventKind.values),
        }
    if len(description or "") > 200:
        errors["description"] = _("The description is longer than 200 characters.")
    if errors:
        raise ValidationError(errors)
    return url, (description or "").strip(), sorted(set(events))


@transaction.atomic
def webhook_create(*, workspace, url: str, by=None, description: str = "", events=None) -> Webhook:
    url, description, events = _clean_webhook(url, description, events)
    hook = Webhook.objects.create(
        workspace=workspace,
        url=url,
        description=description,
        events=events,
        secret=Webhook.generate_secret(),
        created_by=_actor(by),
    )
    activity.record(workspace=workspace, actor=by, verb="created", target=hook)
    return hook


@transaction.atomic
def webhook_update(
    *,
    webhook: Webhook,
    by=None,
    active: bool | None = None,
    url: str | None = None,
    description: str | None = None,
    events=None,
) -> Webhook:
    fields = ("url", "description", "events", "active")
    before = activity.snapshot(webhook, fields)
    url, description, events = _clean_webhook(
        webhook.url if url is None else url,
        webhook.description if description is None else description,
        webhook.events if events is None else events,
    )
    webhook.url, webhook.description, webhook.events = url, description, events
    if active is not None:
        webhook.active = bool(active)
    webhook.save()
    changes = activity.diff(webhook, before, fields)
    if changes:
        activity.record(
            workspace=webhook.workspace, actor=by, verb="updated", target=webhook, changes=changes
        )
    return webhook


@transaction.atomic
def delivery_redeliver(*, delivery: Delivery, by=None) -> Delivery:
    """Try a delivery again now (an admin's Redeliver): it gets a fresh set of attempts."""
    if delivery.state == DeliveryState.SENT and delivery.channel == Channel.EMAIL:
        raise ValidationError({"delivery": _("This email was already sent.")})
    delivery.state = DeliveryState.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = timezone.now()
    delivery.locked_until = None
    delivery.save(
        update_fields=["state", "attempts", "next_attempt_at", "locked_until", "updated_at"]
    )
    activity.record(
        workspace=delivery.workspace,
        actor=by,
        verb="redelivered",
        target=delivery.webhook or delivery,
        message=f"delivery {delivery.pk}",
    )
    from quarterdeck.notify import tasks

    _enqueue(tasks.send_delivery, delivery.pk)
    return delivery


# -- fan-out: from one event to notifications and deliveries -----------------------------------


def _because(follower: selectors.Follower) -> str:
    if follower.explicit:
        return _("You follow this feature.")
    titles = "; ".join(n.title for n in follower.needs)[:250]
    if follower.asked:
        return _("You told us about: %(needs)s") % {"needs": titles}
    return _("You follow: %(needs)s") % {"needs": titles}


def event_fan_out(*, event_id: int) -> list[int]:
    """Create the notices and deliveries of one event (idempotent) and enqueue the deliveries.

    Returns the ids of the deliveries created now.
    """
    from quarterdeck.notify import tasks

    with transaction.atomic():
        event = (
            Event.objects.select_for_update()
            .select_related("feature", "workspace")
            .filter(pk=event_id)
            .first()
        )
        if event is None or event.fanned_out_at is not None:
            return []
        feature = event.feature
        followers = [
            f
            for f in selectors.feature_followers(feature)
            if not (f.user is not None and f.user.pk == event.actor_id)
        ]
        prefs = selectors.frequencies(
            event.workspace,
            user_ids=[f.id for f in followers if f.kind == "user"],
            stakeholder_ids=[f.id for f in followers if f.kind == "stakeholder"],
        )
        told = set()
        for user_id, stakeholder_id in Notification.objects.filter(
            feature=feature, kind=event.kind
        ).values_list("user_id", "stakeholder_id"):
            told.add(("user", user_id) if user_id else ("stakeholder", stakeholder_id))
        fresh = []
        for f in followers:
            if f.key in told:
                continue
            frequency = prefs.get(f.key, Frequency.IMMEDIATE)
            email = f.email
            if not email or frequency == Frequency.NEVER:
                mode = EmailMode.NONE
            elif frequency == Frequency.DAILY and f.kind == "user":
                mode = EmailMode.DIGEST
            else:
                mode = EmailMode.IMMEDIATE
            if f.kind == "stakeholder" and mode == EmailMode.NONE:
                continue  # a stakeholder has no in-app inbox: nothing to tell them through
            fresh.append(
                Notification(
                    workspace_id=event.workspace_id,
                    event=event,
                    feature=feature,
                    kind=event.kind,
                    user=f.user,
                    stakeholder=f.stakeholder,
                    email=email if mode != EmailMode.NONE else "",
                    email_mode=mode,
                    reason=_because(f)[:300],
                )
            )
        Notification.objects.bulk_create(fresh, ignore_conflicts=True)
        deliveries = [
            Delivery(
                workspace_id=event.workspace_id,
                channel=Channel.EMAIL,
                event=event,
                notification=n,
                next_attempt_at=timezone.now(),
            )
            for n in Notification.objects.filter(
                event=event, email_mode=EmailMode.IMMEDIATE, delivery__isnull=True
            )
        ]
        body = None
        for hook in Webhook.objects.filter(workspace_id=event.workspace_id, active=True):
            if not hook.wants(event.kind):
                continue
            body = body or webhooks.body_for(event)
            deliveries.append(
                Delivery(
                    workspace_id=event.workspace_id,
                    channel=Channel.WEBHOOK,
                    event=event,
                    webhook=hook,
                    request_body=body,
                    next_attempt_at=timezone.now(),
                )
            )
        created = []
        for delivery in deliveries:
            try:
                with transaction.atomic():
                    delivery.save()
            except IntegrityError:
                continue
            created.append(delivery.pk)
        event.fanned_out_at = timezone.now()
        event.save(update_fields=["fanned_out_at", "updated_at"])
        for pk in created:
            _enqueue(tasks.send_delivery, pk)
    return created


# -- one try of one delivery -------------------------------------------------------------------


def _claim(delivery_id: int, now: dt.datetime) -> bool:
    return bool(
        Delivery.objects.filter(
            pk=delivery_id, state__in=[DeliveryState.PENDING, DeliveryState.FAILED]
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + LOCK_FOR)
    )


@dataclass
class _Outcome:
    ok: bool
    status: int | None = None
    body: str = ""
    error: str = ""
    duration_ms: int = 0
    final: bool = False  # no point trying again


def _try_email(delivery: Delivery) -> _Outcome:
    notification = delivery.notification
    frequency = selectors.email_frequency(
        delivery.workspace, user=notification.user, stakeholder=notification.stakeholder
    )
    if frequency == Frequency.NEVER:
        return _Outcome(
            ok=False, error="The recipient unsubscribed before it was sent.", final=True
        )
    started = timezone.now()
    try:
        mail.send_feature_update(notification)
    except Exception as exc:  # noqa: BLE001 - any SMTP or rendering error is a failed try
        took = int((timezone.now() - started).total_seconds() * 1000)
        return _Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:1000], duration_ms=took)
    took = int((timezone.now() - started).total_seconds() * 1000)
    return _Outcome(ok=True, body=f"accepted for {notification.email}", duration_ms=took)


def _try_webhook(delivery: Delivery, number: int) -> _Outcome:
    hook = delivery.webhook
    if not hook.active:
        return _Outcome(ok=False, error="The webhook is disabled.", final=True)
    result = webhooks.post(
        url=hook.url,
        body=delivery.request_body or webhooks.body_for(delivery.event),
        secret=hook.secret,
        delivery_id=delivery.pk,
        event_type=delivery.event.webhook_type,
        attempt=number,
    )
    return _Outcome(
        ok=result.ok,
        status=result.status,
        body=result.body,
        error=result.error,
        duration_ms=result.duration_ms,
    )


def delivery_attempt(*, delivery_id: int, now: dt.datetime | None = None) -> Delivery | None:
    """Try one due delivery once; on failure schedule the next try (or give up after 6)."""
    now = now or timezone.now()
    if not _claim(delivery_id, now):
        return Delivery.objects.filter(pk=delivery_id).first()
    delivery = Delivery.objects.select_related(
        "workspace",
        "webhook",
        "event__feature__workspace",
        "event__workspace",
        "event__actor",
        "notification__user",
        "notification__stakeholder",
        "notification__feature__workspace",
        "notification__workspace",
        "notification__event",
    ).get(pk=delivery_id)
    number = delivery.tries.count() + 1
    if delivery.channel == Channel.EMAIL:
        outcome = _try_email(delivery)
    else:
        outcome = _try_webhook(delivery, number)
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=number,
            ok=outcome.ok,
            response_status=outcome.status,
            response_body=outcome.body,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.response_status = outcome.status
        delivery.response_body = outcome.body
        delivery.last_error = outcome.error
        delivery.locked_until = None
        if outcome.ok:
            delivery.state = DeliveryState.SENT
            delivery.sent_at = now
            delivery.next_attempt_at = None
            if delivery.notification_id:
                Notification.objects.filter(pk=delivery.notification_id).update(emailed_at=now)
        elif outcome.final or delivery.attempts >= Delivery.MAX_ATTEMPTS:
            delivery.state = DeliveryState.DEAD
            delivery.next_attempt_at = None
        else:
            delivery.state = DeliveryState.FAILED
            delivery.next_attempt_at = now + backoff(delivery.attempts)
        delivery.save()
    if delivery.state == DeliveryState.FAILED:
        _schedule_retry(delivery)
    return delivery


def _schedule_retry(delivery: Delivery) -> None:
    """Enqueue the next try to run at `next_attempt_at` where the task backend can defer."""
    from django_tasks import default_task_backend

    from quarterdeck.notify import tasks

    if not default_task_backend.supports_defer:
        return  # `retry_due_deliveries` picks it up when it is due
    run_after = delivery.next_attempt_at
    transaction.on_commit(
        lambda: tasks.send_delivery.using(run_after=run_after).enqueue(delivery.pk)
    )


def deliveries_retry_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Fan out events a worker never got to, and try every delivery that is due. Returns tries."""
    now = now or timezone.now()
    for event_id in Event.objects.filter(
        fanned_out_at__isnull=True, created_at__lt=now - FAN_OUT_GRACE
    ).values_list("pk", flat=True)[:limit]:
        event_fan_out(event_id=event_id)
    now = max(now, timezone.now())
    due = list(
        Delivery.objects.filter(
            state__in=[DeliveryState.PENDING, DeliveryState.FAILED], next_attempt_at__lte=now
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    tried = 0
    for pk in due:
        try:
            delivery_attempt(delivery_id=pk, now=now)
            tried += 1
        except Exception:  # noqa: BLE001 - one broken row must not stop the sweep
            logger.exception("notify: delivery %s could not be tried", pk)
    return tried


# -- daily digests ---------------------------------------------------------------------------


def digests_send(*, now: dt.datetime | None = None) -> int:
    """Send each member one email with every notice waiting for their digest. Returns emails."""
    now = now or timezone.now()
    pending = (
        Notification.objects.awaiting_digest()
        .select_related("user", "workspace", "feature__workspace", "event")
        .order_by("workspace_id", "user_id", "created_at", "id")
    )
    groups: dict[tuple[int, int], list[Notification]] = {}
    for n in pending:
        groups.setdefault((n.workspace_id, n.user_id), []).append(n)
    sent = 0
    for items in groups.values():
        ids = [n.pk for n in items]
        claimed = Notification.objects.filter(pk__in=ids, emailed_at__isnull=True).update(
            emailed_at=now
        )
        if claimed != len(ids):
            Notification.objects.filter(pk__in=ids, emailed_at=now).update(emailed_at=None)
            continue
        first = items[0]
        try:
            mail.send_digest(user=first.user, workspace=first.workspace, notifications=items)
        except Exception:  # noqa: BLE001 - keep them for the next run
            Notification.objects.filter(pk__in=ids).update(emailed_at=None)
            logger.exception("notify: digest for user %s could not be sent", first.user_id)
            continue
        sent += 1
    return sent


# -- unsubscribing from an email link, without login ------------------------------------------


@dataclass
class UnsubscribeTarget:
    workspace: Workspace
    user: User | None
    stakeholder: Stakeholder | None
    feature: Feature | None

    @property
    def name(self) -> str:
        return str(self.user or self.stakeholder)


def unsubscribe_target(token: str) -> UnsubscribeTarget:
    data = mail.read_unsubscribe_token(token)
    invalid = ValidationError(
        {"token": _("This unsubscribe link is not valid. Copy the whole link from the email.")}
    )
    if data is None:
        raise invalid
    workspace = Workspace.objects.filter(pk=data["w"]).first()
    if workspace is None:
        raise invalid
    user = stakeholder = None
    if "u" in data:
        user = User.objects.filter(pk=data["u"], memberships__workspace=workspace).first()
        if user is None:
            raise invalid
    else:
        stakeholder = Stakeholder.objects.filter(pk=data["s"], workspace=workspace).first()
        if stakeholder is None:
            raise invalid
    feature = None
    if data.get("f"):
        feature = Feature.objects.filter(pk=data["f"], workspace=workspace).first()
    return UnsubscribeTarget(workspace, user, stakeholder, feature)


def unsubscribe(*, token: str, scope: str = "feature") -> UnsubscribeTarget:
    """Stop emails: about the feature named in the link, or (`scope="all"`) every email."""
    target = unsubscribe_target(token)
    with transaction.atomic():
        if scope == "feature" and target.feature is not None:
            unfollow(
                target=target.feature, user=target.user, stakeholder=target.stakeholder, by=None
            )
        else:
            preference_set(
                workspace=target.workspace,
                email_frequency=Frequency.NEVER,
                user=target.user,
                stakeholder=target.stakeholder,
            )
    return target


def resubscribe(*, token: str, scope: str = "feature") -> UnsubscribeTarget:
    """Undo an unsubscribe made from the same link."""
    target = unsubscribe_target(token)
    with transaction.atomic():
        if scope == "feature" and target.feature is not None:
            follow(target=target.feature, user=target.user, stakeholder=target.stakeholder, by=None)
        else:
            preference_set(
                workspace=target.workspace,
                email_frequency=Frequency.IMMEDIATE,
                user=target.user,
                stakeholder=target.stakeholder,
            )
    return target
