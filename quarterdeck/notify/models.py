"""Subscriptions, notifications and their deliveries.

Who follows a feature is computed when a notice goes out: the stakeholders whose insights are
linked to the feature's needs follow it automatically; `Subscription` rows hold the explicit
choices (follow, or unfollow, which wins over the automatic follow). An important step of a
feature is one `Event`; each person told about it has one `Notification` (unique per recipient,
feature and kind, so nobody gets the same notice twice); each email or webhook call is a
`Delivery`, retried with backoff, with every try kept as a `DeliveryAttempt`.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from quarterdeck.core.models import TimeStampedModel, WorkspaceScopedModel


class EventKind(models.TextChoices):
    STUDYING = "studying", _("Accepted for study")
    IN_ENGINEERING = "in_engineering", _("In engineering")
    DEPLOYING = "deploying", _("Deploying soon")
    SHIPPED = "shipped", _("Shipped")
    DECLINED = "declined", _("Declined")


# The feature statuses that are an important step for the people who follow it.
KIND_FOR_STATUS = {
    "studying": EventKind.STUDYING,
    "in_engineering": EventKind.IN_ENGINEERING,
    "ready_to_deploy": EventKind.DEPLOYING,
    "rolling_out": EventKind.DEPLOYING,
    "shipped": EventKind.SHIPPED,
    "declined": EventKind.DECLINED,
}


def recipient_q(*, user=None, stakeholder=None) -> Q:
    return Q(user=user) if user is not None else Q(stakeholder=stakeholder)


class Subscription(WorkspaceScopedModel):
    """An explicit choice of one person about one feature or need: follow, or unfollow."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="subscriptions",
    )
    stakeholder = models.ForeignKey(
        "insights.Stakeholder",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="subscriptions",
    )
    feature = models.ForeignKey(
        "backlog.Feature",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="subscriptions",
    )
    need = models.ForeignKey(
        "insights.Need",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="subscriptions",
    )
    following = models.BooleanField(
        _("following"), default=True, help_text=_("False: an explicit unfollow.")
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, stakeholder__isnull=True)
                | Q(user__isnull=True, stakeholder__isnull=False),
                name="subscription_one_recipient",
            ),
            models.CheckConstraint(
                condition=Q(feature__isnull=False, need__isnull=True)
                | Q(feature__isnull=True, need__isnull=False),
                name="subscription_one_target",
            ),
            models.UniqueConstraint(
                fields=["user", "feature"],
                condition=Q(user__isnull=False, feature__isnull=False),
                name="unique_subscription_user_feature",
            ),
            models.UniqueConstraint(
                fields=["user", "need"],
                condition=Q(user__isnull=False, need__isnull=False),
                name="unique_subscription_user_need",
            ),
            models.UniqueConstraint(
                fields=["stakeholder", "feature"],
                condition=Q(stakeholder__isnull=False, feature__isnull=False),
                name="unique_subscription_stakeholder_feature",
            ),
            models.UniqueConstraint(
                fields=["stakeholder", "need"],
                condition=Q(stakeholder__isnull=False, need__isnull=False),
                name="unique_subscription_stakeholder_need",
            ),
        ]

    def __str__(self) -> str:
        verb = "follows" if self.following else "unfollowed"
        return f"{self.user or self.stakeholder} {verb} {self.feature or self.need}"


class Frequency(models.TextChoices):
    IMMEDIATE = "immediate", _("Right away")
    DAILY = "daily", _("Daily digest")
    NEVER = "never", _("No email")


class Preference(WorkspaceScopedModel):
    """How one person wants to hear about updates in one workspace."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notify_preferences",
    )
    stakeholder = models.ForeignKey(
        "insights.Stakeholder",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notify_preferences",
    )
    email_frequency = models.CharField(
        _("email"), max_length=16, choices=Frequency.choices, default=Frequency.IMMEDIATE
    )

    class Meta:
        ordering = ["workspace", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, stakeholder__isnull=True)
                | Q(user__isnull=True, stakeholder__isnull=False),
                name="preference_one_recipient",
            ),
            models.UniqueConstraint(
                fields=["workspace", "user"],
                condition=Q(user__isnull=False),
                name="unique_preference_user",
            ),
            models.UniqueConstraint(
                fields=["workspace", "stakeholder"],
                condition=Q(stakeholder__isnull=False),
                name="unique_preference_stakeholder",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.stakeholder}: {self.email_frequency}"


class Event(WorkspaceScopedModel):
    """One important step of a feature, told to its followers and to the webhooks."""

    feature = models.ForeignKey(
        "backlog.Feature", on_delete=models.CASCADE, related_name="notify_events"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=EventKind.choices)
    old_status = models.CharField(max_length=32)
    new_status = models.CharField(max_length=32)
    reason = models.TextField(_("reason"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fanned_out_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.feature} {self.kind}"

    @property
    def webhook_type(self) -> str:
        return f"feature.{self.kind}"


class EmailMode(models.TextChoices):
    NONE = "none", _("No email")
    IMMEDIATE = "immediate", _("Right away")
    DIGEST = "digest", _("Daily digest")


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user, workspace):
        return self.filter(user=user, workspace=workspace)

    def unread(self):
        return self.filter(read_at__isnull=True)

    def awaiting_digest(self):
        return self.filter(email_mode=EmailMode.DIGEST, emailed_at__isnull=True)


class Notification(WorkspaceScopedModel):
    """One person told about one important step of one feature (in-app for users, email)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="notifications")
    feature = models.ForeignKey(
        "backlog.Feature", on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=EventKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    stakeholder = models.ForeignKey(
        "insights.Stakeholder",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    email = models.EmailField(_("email"), blank=True)
    reason = models.CharField(
        _("why this person follows"), max_length=300, blank=True
    )  # e.g. the needs they asked about
    email_mode = models.CharField(
        max_length=16, choices=EmailMode.choices, default=EmailMode.IMMEDIATE
    )
    emailed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, stakeholder__isnull=True)
                | Q(user__isnull=True, stakeholder__isnull=False),
                name="notification_one_recipient",
            ),
            # The idempotency key: one notice per (recipient, feature, kind of step).
            models.UniqueConstraint(
                fields=["user", "feature", "kind"],
                condition=Q(user__isnull=False),
                name="unique_notification_user",
            ),
            models.UniqueConstraint(
                fields=["stakeholder", "feature", "kind"],
                condition=Q(stakeholder__isnull=False),
                name="unique_notification_stakeholder",
            ),
        ]
        indexes = [models.Index(fields=["user", "workspace", "read_at"])]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.feature} {self.kind}"

    @property
    def recipient(self):
        return self.user or self.stakeholder

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Webhook(WorkspaceScopedModel):
    """An outgoing webhook: every important step is POSTed to `url` as signed JSON."""

    url = models.URLField(_("payload URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    secret = models.CharField(_("signing secret"), max_length=100)
    events = models.JSONField(
        _("events"), default=list, blank=True, help_text=_("Empty: every kind of step.")
    )
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.url

    def get_absolute_url(self) -> str:
        return reverse("notify:webhook", kwargs={"ws": self.workspace.slug, "pk": self.pk})

    @staticmethod
    def generate_secret() -> str:
        return "whsec_" + secrets.token_urlsafe(32)

    def wants(self, kind: str) -> bool:
        return not self.events or kind in self.events


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEBHOOK = "webhook", _("Webhook")


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed, will retry")
    DEAD = "dead", _("Gave up")


class Delivery(WorkspaceScopedModel):
    """One email to one recipient or one webhook call, tried until it succeeds or gives up."""

    MAX_ATTEMPTS = 6

    channel = models.CharField(max_length=16, choices=Channel.choices)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    notification = models.OneToOneField(
        Notification, null=True, blank=True, on_delete=models.CASCADE, related_name="delivery"
    )
    webhook = models.ForeignKey(
        Webhook, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    request_body = models.TextField(blank=True, help_text="The exact JSON body a webhook gets.")
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "event"],
                condition=Q(webhook__isnull=False),
                name="unique_webhook_delivery",
            )
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.channel} #{self.pk} {self.state}"

    @property
    def is_final(self) -> bool:
        return self.state in (DeliveryState.SENT, DeliveryState.DEAD)


class DeliveryAttempt(TimeStampedModel):
    """One try of a delivery: when, how long, and what the other side answered."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveIntegerField()
    ok = models.BooleanField(default=False)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"{self.delivery_id} try {self.number}: {'ok' if self.ok else 'failed'}"
