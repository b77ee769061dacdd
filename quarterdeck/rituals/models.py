"""Meetings, roadmap sharing and the monthly newsletter.

- `Meeting`: a priority review with a stakeholder group (a segment, optionally a squad), an
  insights review with a squad's engineers, or a demo. Its agenda is generated when it is
  planned and kept as a snapshot (regenerated on demand), so a past meeting shows what was
  discussed then. `Decision` rows record what was decided and which features moved.
- `DecisionFlag`: a feature flagged for a decision at the next review of a group.
- `ShareLink`: a read-only roadmap page or an iCalendar feed reachable without login through an
  unguessable token (only its SHA-256 is stored); revocable.
- `Newsletter`: one month's product newsletter, drafted from the data, edited, then published.
- `NewsletterOptOut`: people who unsubscribed from the newsletter (one-click signed link).
- `NewsletterDelivery`: one email of one issue to one person, so that sending is idempotent.
- `NewsletterFeed`: the per-workspace secret that opens the Atom feed to feed readers.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from quarterdeck.core.models import TimeStampedModel, WorkspaceScopedModel


class MeetingKind(models.TextChoices):
    PRIORITY_REVIEW = "priority_review", _("Priority review")
    INSIGHTS_REVIEW = "insights_review", _("Insights review")
    DEMO = "demo", _("Demo")


class Meeting(WorkspaceScopedModel):
    """A review ritual: when, with whom, its generated agenda, the notes and the decisions."""

    kind = models.CharField(_("kind"), max_length=32, choices=MeetingKind.choices)
    title = models.CharField(_("title"), max_length=200)
    scheduled_at = models.DateTimeField(_("date and time"), db_index=True)
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), default=60)
    segment = models.ForeignKey(
        "insights.Segment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("stakeholder group"),
    )
    squad = models.ForeignKey(
        "squads.Squad", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attendee_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("team attendees")
    )
    attendee_stakeholders = models.ManyToManyField(
        "insights.Stakeholder",
        blank=True,
        related_name="+",
        verbose_name=_("stakeholder attendees"),
    )
    agenda = models.JSONField(_("agenda"), default=dict, blank=True)
    agenda_since = models.DateTimeField(null=True, blank=True)
    agenda_generated_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    attachments = models.TextField(
        _("data for the review"),
        blank=True,
        help_text=_("Notes, links and figures you bring to the review (Markdown)."),
    )
    evaluation_requests = models.ManyToManyField(
        "backlog.EvaluationRequest", blank=True, related_name="+"
    )
    minutes_requested_at = models.DateTimeField(null=True, blank=True)
    minutes_sent_at = models.DateTimeField(null=True, blank=True)
    minutes_recipients = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-scheduled_at", "-id"]
        indexes = [models.Index(fields=["workspace", "kind", "-scheduled_at"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("rituals:meeting", kwargs={"ws": self.workspace.slug, "pk": self.pk})


class Decision(TimeStampedModel):
    """What a meeting decided; `move_to` is the status its features were moved to, if any."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="decisions")
    text = models.TextField(_("decision"))
    features = models.ManyToManyField("backlog.Feature", blank=True, related_name="+")
    move_to = models.CharField(_("move features to"), max_length=32, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["meeting", "created_at", "id"]

    def __str__(self) -> str:
        return self.text[:80]


class DecisionFlag(WorkspaceScopedModel):
    """A feature flagged for a decision at the next priority review (of a group, or any)."""

    feature = models.ForeignKey("backlog.Feature", on_delete=models.CASCADE, related_name="+")
    segment = models.ForeignKey(
        "insights.Segment", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    note = models.CharField(_("question to decide"), max_length=300, blank=True)
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_by = models.ForeignKey(
        Decision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"decide on {self.feature_id}"


class ShareKind(models.TextChoices):
    ROADMAP = "roadmap", _("Roadmap page")
    CALENDAR = "calendar", _("Calendar feed")


class ShareLinkQuerySet(models.QuerySet):
    def live_for(self, token: str, kind: str):
        return self.filter(
            token_hash=ShareLink.hash_token(token), kind=kind, revoked_at__isnull=True
        ).select_related("workspace", "squad")


class ShareLink(WorkspaceScopedModel):
    """A read-only link for people without an account; only the token's SHA-256 is kept."""

    kind = models.CharField(_("kind"), max_length=16, choices=ShareKind.choices)
    label = models.CharField(_("label"), max_length=150, blank=True)
    squad = models.ForeignKey(
        "squads.Squad", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    token_hint = models.CharField(max_length=8)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.token_hint}…"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    def generate_token() -> str:
        return secrets.token_urlsafe(32)

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None


class NewsletterState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


class Newsletter(WorkspaceScopedModel):
    """One month's issue: the generated Markdown, the edited text, and when it went out."""

    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    title = models.CharField(_("title"), max_length=200)
    body_markdown = models.TextField(_("text (Markdown)"), blank=True)
    generated_markdown = models.TextField(_("generated text"), blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=NewsletterState.choices, default=NewsletterState.DRAFT
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipients_count = models.PositiveIntegerField(_("recipients"), default=0)

    class Meta:
        ordering = ["-month", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "month"], name="unique_newsletter_month")
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("rituals:newsletter", kwargs={"ws": self.workspace.slug, "pk": self.pk})

    @property
    def month_key(self) -> str:
        return self.month.strftime("%Y-%m")

    @property
    def is_published(self) -> bool:
        return self.state == NewsletterState.PUBLISHED

    @property
    def is_edited(self) -> bool:
        return self.body_markdown.strip() != self.generated_markdown.strip()

    def get_archive_url(self) -> str:
        return reverse(
            "rituals_public:news_issue",
            kwargs={"slug": self.workspace.slug, "month": self.month_key},
        )


class NewsletterOptOut(WorkspaceScopedModel):
    """Somebody who unsubscribed from the workspace's newsletter (a member or a stakeholder)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    stakeholder = models.ForeignKey(
        "insights.Stakeholder", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, stakeholder__isnull=True)
                | Q(user__isnull=True, stakeholder__isnull=False),
                name="newsletter_optout_one_recipient",
            ),
            models.UniqueConstraint(
                fields=["workspace", "user"],
                condition=Q(user__isnull=False),
                name="unique_newsletter_optout_user",
            ),
            models.UniqueConstraint(
                fields=["workspace", "stakeholder"],
                condition=Q(stakeholder__isnull=False),
                name="unique_newsletter_optout_stakeholder",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.stakeholder} unsubscribed"


class NewsletterDelivery(TimeStampedModel):
    """One issue emailed to one person; sent once even if the sending task runs twice."""

    newsletter = models.ForeignKey(Newsletter, on_delete=models.CASCADE, related_name="deliveries")
    email = models.EmailField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stakeholder = models.ForeignKey(
        "insights.Stakeholder", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["newsletter", "email"]
        constraints = [
            models.UniqueConstraint(
                fields=["newsletter", "email"], name="unique_newsletter_delivery"
            )
        ]
        verbose_name_plural = "newsletter deliveries"

    def __str__(self) -> str:
        return f"{self.newsletter_id} → {self.email}"


class NewsletterFeed(TimeStampedModel):
    """The secret in the Atom feed's URL of one workspace (random; rotating it revokes it)."""

    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["workspace"]

    def __str__(self) -> str:
        return f"feed key of {self.workspace_id}"

    @staticmethod
    def generate_key() -> str:
        return secrets.token_urlsafe(24)
