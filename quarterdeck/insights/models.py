"""Stakeholders, segments, insights (evidence) and needs (user problems), and the links between."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from quarterdeck.core.models import WorkspaceScopedModel


class Segment(WorkspaceScopedModel):
    """A group of users: student, mentor, employer, employee, or one the workspace defines."""

    key = models.SlugField(_("key"), max_length=64)
    name = models.CharField(_("name"), max_length=100)
    weight = models.FloatField(_("weight"), default=1.0, validators=[MinValueValidator(0)])
    color = models.CharField(_("colour"), max_length=7, default="#6b7280")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="unique_segment_key")
        ]

    def __str__(self) -> str:
        return self.name


class Stakeholder(WorkspaceScopedModel):
    """A person or organisation giving feedback."""

    name = models.CharField(_("name"), max_length=150)
    email = models.EmailField(_("email"), blank=True)
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="stakeholders"
    )
    organisation = models.CharField(_("organisation"), max_length=150, blank=True)
    weight = models.FloatField(_("weight"), default=1.0, validators=[MinValueValidator(0)])
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=~Q(email=""),
                name="unique_stakeholder_email",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Channel(models.TextChoices):
    INTERVIEW = "interview", _("Interview")
    SUPPORT = "support", _("Support ticket")
    SURVEY = "survey", _("Survey")
    APP_REVIEW = "app_review", _("App review")
    SALES_CALL = "sales_call", _("Sales call")
    ANALYTICS = "analytics", _("Analytics")
    IN_APP = "in_app", _("In-app")
    EMAIL = "email", _("Email")
    CHAT = "chat", _("Chat")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    MANUAL = "manual", _("Manual entry")


class InsightState(models.TextChoices):
    NEW = "new", _("New")
    TRIAGED = "triaged", _("Triaged")
    ARCHIVED = "archived", _("Archived")


class Importance(models.IntegerChoices):
    NICE_TO_HAVE = 1, _("Nice to have")
    IMPORTANT = 2, _("Important")
    CRITICAL = 3, _("Critical")


class Insight(WorkspaceScopedModel):
    """One piece of evidence: what a stakeholder said, where, and when."""

    text = models.TextField(_("text"))
    source = models.CharField(
        _("source"),
        max_length=64,
        default=Channel.MANUAL,
        help_text=_("Where it came from: a channel or an integration name."),
    )
    channel = models.CharField(
        _("channel"), max_length=32, choices=Channel.choices, default=Channel.MANUAL
    )
    external_id = models.CharField(_("external id"), max_length=200, blank=True)
    stakeholder = models.ForeignKey(
        Stakeholder, null=True, blank=True, on_delete=models.SET_NULL, related_name="insights"
    )
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="insights"
    )
    captured_at = models.DateTimeField(_("captured"))
    captured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    importance = models.PositiveSmallIntegerField(
        _("importance"), choices=Importance.choices, null=True, blank=True
    )
    state = models.CharField(
        _("state"), max_length=16, choices=InsightState.choices, default=InsightState.NEW
    )
    tags = models.JSONField(_("tags"), default=list, blank=True)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )

    class Meta:
        ordering = ["-captured_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "source", "external_id"],
                condition=~Q(external_id=""),
                name="unique_insight_external_id",
            )
        ]
        indexes = [
            models.Index(
                fields=["workspace", "state", "-captured_at", "-id"], name="insight_inbox_state"
            ),
            models.Index(fields=["workspace", "-captured_at", "-id"], name="insight_inbox_all"),
        ]

    def __str__(self) -> str:
        return self.summary

    def get_absolute_url(self) -> str:
        return reverse("insights:detail", kwargs={"ws": self.workspace.slug, "pk": self.pk})

    @property
    def summary(self) -> str:
        first = self.text.strip().splitlines()[0] if self.text.strip() else ""
        return first[:117] + "…" if len(first) > 120 else first


class NeedState(models.TextChoices):
    OPEN = "open", _("Open")
    ARCHIVED = "archived", _("Archived")


class Need(WorkspaceScopedModel):
    """A user problem in the user's words."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    segments = models.ManyToManyField(Segment, blank=True, related_name="needs")
    state = models.CharField(
        _("state"), max_length=16, choices=NeedState.choices, default=NeedState.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    insights = models.ManyToManyField(Insight, through="InsightLink", related_name="needs")

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("insights:need", kwargs={"ws": self.workspace.slug, "pk": self.pk})


class InsightLink(WorkspaceScopedModel):
    """Evidence that an insight speaks to a need: the quote, and how much it matters to them."""

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="links")
    insight = models.ForeignKey(Insight, on_delete=models.CASCADE, related_name="links")
    highlight = models.TextField(_("highlight"), blank=True)
    importance = models.PositiveSmallIntegerField(
        _("importance"),
        choices=Importance.choices,
        default=Importance.IMPORTANT,
        validators=[MinValueValidator(1), MaxValueValidator(3)],
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_suggestion = models.BooleanField(_("accepted suggestion"), default=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["need", "insight"], name="unique_insight_link")
        ]

    def __str__(self) -> str:
        return f"{self.insight_id} → {self.need_id}"

    @property
    def quote(self) -> str:
        return self.highlight or self.insight.text
