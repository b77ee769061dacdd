"""Reads for notifications: who follows what, the inbox, webhooks and their deliveries."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Prefetch, QuerySet

from quarterdeck.accounts.models import Membership
from quarterdeck.backlog.models import Feature
from quarterdeck.insights.models import InsightLink, Need, Stakeholder
from quarterdeck.notify.models import (
    Delivery,
    DeliveryAttempt,
    Frequency,
    Notification,
    Preference,
    Subscription,
    Webhook,
)


@dataclass
class Follower:
    """One person who follows a feature, and why."""

    user: object | None = None
    stakeholder: Stakeholder | None = None
    explicit: bool = False
    needs: list[Need] = field(default_factory=list)
    asked: bool = False  # a stakeholder whose insight is linked to one of the needs

    @property
    def key(self) -> tuple[str, int]:
        return (
            ("user", self.user.pk)
            if self.user is not None
            else ("stakeholder", self.stakeholder.pk)
        )

    @property
    def kind(self) -> str:
        return self.key[0]

    @property
    def id(self) -> int:
        return self.key[1]

    @property
    def name(self) -> str:
        return str(self.user or self.stakeholder)

    @property
    def email(self) -> str:
        return (self.user.email if self.user is not None else self.stakeholder.email) or ""

    @property
    def reason(self) -> str:
        """`explicit` (follows the feature), `asked` (gave an insight) or `need` (via a need)."""
        if self.explicit:
            return "explicit"
        return "asked" if self.asked else "need"


def _recipient_key(row) -> tuple[str, int]:
    return ("user", row.user_id) if row.user_id else ("stakeholder", row.stakeholder_id)


def feature_followers(feature: Feature) -> list[Follower]:
    """Everyone who follows `feature` now.

    A stakeholder who gave an insight linked to one of the feature's needs follows it
    automatically; anybody can follow the feature or one of its needs explicitly. An explicit
    unfollow of the feature wins over everything else, and an explicit unfollow of a need stops
    the follow that comes through that need.
    """
    workspace_id = feature.workspace_id
    needs = {n.pk: n for n in Need.objects.filter(features=feature, workspace_id=workspace_id)}
    subs = Subscription.objects.filter(workspace_id=workspace_id, feature=feature) | (
        Subscription.objects.filter(workspace_id=workspace_id, need_id__in=list(needs))
    )
    on_feature: dict[tuple[str, int], bool] = {}
    on_need: dict[tuple[str, int], dict[int, bool]] = defaultdict(dict)
    for sub in subs:
        key = _recipient_key(sub)
        if sub.feature_id:
            on_feature[key] = sub.following
        else:
            on_need[key][sub.need_id] = sub.following
    asked: dict[tuple[str, int], set[int]] = defaultdict(set)
    for stakeholder_id, need_id in InsightLink.objects.filter(
        workspace_id=workspace_id, need_id__in=list(needs), insight__stakeholder__isnull=False
    ).values_list("insight__stakeholder_id", "need_id"):
        asked[("stakeholder", stakeholder_id)].add(need_id)

    chosen: dict[tuple[str, int], Follower] = {}
    for key in set(on_feature) | set(on_need) | set(asked):
        if on_feature.get(key) is False:
            continue
        need_choices = on_need.get(key, {})
        via = (asked.get(key, set()) | {n for n, f in need_choices.items() if f}) - {
            n for n, f in need_choices.items() if not f
        }
        if on_feature.get(key) or via:
            chosen[key] = Follower(
                explicit=bool(on_feature.get(key)),
                needs=[needs[n] for n in sorted(via)],
                asked=bool(asked.get(key, set()) & via),
            )

    users = {
        m.user_id: m.user
        for m in Membership.objects.filter(
            workspace_id=workspace_id,
            user_id__in=[pk for kind, pk in chosen if kind == "user"],
            user__is_active=True,
        ).select_related("user")
    }
    stakeholders = Stakeholder.objects.filter(
        workspace_id=workspace_id, pk__in=[pk for kind, pk in chosen if kind == "stakeholder"]
    ).in_bulk()
    followers = []
    for (kind, pk), follower in chosen.items():
        if kind == "user":
            if pk not in users:
                continue
            follower.user = users[pk]
        else:
            if pk not in stakeholders:
                continue
            follower.stakeholder = stakeholders[pk]
        followers.append(follower)
    # A stakeholder who is also a member is told once, as the member.
    member_emails = {f.user.email.lower() for f in followers if f.user is not None}
    followers = [
        f
        for f in followers
        if f.user is not None or (f.stakeholder.email or "").lower() not in member_emails
    ]
    followers.sort(key=lambda f: (f.kind != "user", f.name.lower(), f.id))
    return followers


def user_follows(user, target) -> bool:
    """Whether `user` follows a feature or need (directly, or a feature through its needs)."""
    if target is None or not getattr(user, "is_authenticated", False):
        return False
    if isinstance(target, Feature):
        own = Subscription.objects.filter(user=user, feature=target).first()
        if own is not None:
            return own.following
        return Subscription.objects.filter(
            user=user, need__features=target, following=True
        ).exists()
    own = Subscription.objects.filter(user=user, need=target).first()
    return bool(own and own.following)


def follower_count(target) -> int:
    if isinstance(target, Feature):
        return len(feature_followers(target))
    subs = Subscription.objects.filter(need=target)
    explicit = {_recipient_key(s): s.following for s in subs}
    asked = {
        ("stakeholder", pk)
        for pk in InsightLink.objects.filter(
            need=target, insight__stakeholder__isnull=False
        ).values_list("insight__stakeholder_id", flat=True)
    }
    return len(
        {k for k, f in explicit.items() if f} | (asked - {k for k, f in explicit.items() if not f})
    )


def email_frequency(workspace, *, user=None, stakeholder=None) -> str:
    pref = Preference.objects.filter(
        workspace=workspace,
        **({"user": user} if user is not None else {"stakeholder": stakeholder}),
    ).first()
    return pref.email_frequency if pref else Frequency.IMMEDIATE


def frequencies(workspace, *, user_ids=(), stakeholder_ids=()) -> dict[tuple[str, int], str]:
    out: dict[tuple[str, int], str] = {}
    for pref in Preference.objects.filter(workspace=workspace, user_id__in=list(user_ids)):
        out[("user", pref.user_id)] = pref.email_frequency
    for pref in Preference.objects.filter(
        workspace=workspace, stakeholder_id__in=list(stakeholder_ids)
    ):
        out[("stakeholder", pref.stakeholder_id)] = pref.email_frequency
    return out


def inbox(user, workspace, *, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.for_user(user, workspace).select_related(
        "feature__workspace", "event__actor"
    )
    return qs.unread() if unread_only else qs


def unread_count(user, workspace) -> int:
    if workspace is None or not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.for_user(user, workspace).unread().count()


def webhooks(workspace) -> QuerySet[Webhook]:
    return Webhook.objects.filter(workspace=workspace).select_related("created_by", "workspace")


def webhook_deliveries(webhook: Webhook) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(webhook=webhook, workspace_id=webhook.workspace_id)
        .select_related("event", "event__feature")
        .prefetch_related(Prefetch("tries", DeliveryAttempt.objects.order_by("number")))
        .order_by("-created_at", "-id")
    )


def latest_states(webhook_ids) -> dict[int, dict[str, int]]:
    """Per webhook, how many deliveries are in each state."""
    out: dict[int, dict[str, int]] = defaultdict(dict)
    from django.db.models import Count

    for row in (
        Delivery.objects.filter(webhook_id__in=list(webhook_ids))
        .values("webhook_id", "state")
        .annotate(n=Count("id"))
    ):
        out[row["webhook_id"]][row["state"]] = row["n"]
    return out
