"""The backlog: features (initiatives → features → shippable slices) and engineering's estimates."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from quarterdeck.core.models import TimeStampedModel, WorkspaceScopedModel


class Status(models.TextChoices):
    NEW = "new", _("New")
    UNDER_CONSIDERATION = "under_consideration", _("Under consideration")
    STUDYING = "studying", _("Being studied")
    DESIGNING = "designing", _("In design")
    IN_ENGINEERING = "in_engineering", _("In engineering")
    IN_QA = "in_qa", _("In QA")
    READY_TO_DEPLOY = "ready_to_deploy", _("Ready to deploy")
    ROLLING_OUT = "rolling_out", _("Rolling out")
    SHIPPED = "shipped", _("Shipped")
    MEASURED = "measured", _("Measured")
    DECLINED = "declined", _("Declined")
    PARKED = "parked", _("Parked")


CLOSED_STATUSES = frozenset({Status.SHIPPED, Status.MEASURED, Status.DECLINED, Status.PARKED})
OPEN_STATUSES = frozenset(set(Status) - CLOSED_STATUSES)


class FeatureQuerySet(models.QuerySet):
    def in_workspace(self, workspace):
        return self.filter(workspace=workspace)

    def open(self):
        return self.filter(status__in=OPEN_STATUSES)


class Feature(WorkspaceScopedModel):
    """A backlog entry in the solution space."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=32, choices=Status.choices, default=Status.NEW, db_index=True
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    squad = models.ForeignKey(
        "squads.Squad", null=True, blank=True, on_delete=models.SET_NULL, related_name="features"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    needs = models.ManyToManyField("insights.Need", blank=True, related_name="features")
    drivers = models.ManyToManyField(
        "strategy.Driver", through="FeatureDriver", blank=True, related_name="features"
    )
    key_results = models.ManyToManyField("strategy.KeyResult", blank=True, related_name="features")
    expected_outcomes = models.TextField(_("expected outcomes"), blank=True)
    target_release = models.DateField(_("target release"), null=True, blank=True)
    decline_reason = models.TextField(_("reason declined"), blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # Not indexed: re-scoring rewrites many scores at once, and an index over the score rules
    # out in-place (HOT) updates on PostgreSQL; the backlog sorts one workspace's rows.
    score = models.FloatField(_("score"), null=True, blank=True)
    demand = models.FloatField(_("demand"), default=0)

    objects = FeatureQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "status"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("backlog:feature", kwargs={"ws": self.workspace.slug, "pk": self.pk})

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class FeatureDriver(TimeStampedModel):
    """How much a feature serves a strategic driver, 0–3."""

    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="driver_links")
    driver = models.ForeignKey(
        "strategy.Driver", on_delete=models.CASCADE, related_name="feature_links"
    )
    contribution = models.PositiveSmallIntegerField(
        _("contribution"), default=1, validators=[MinValueValidator(0), MaxValueValidator(3)]
    )

    class Meta:
        ordering = ["feature", "-contribution"]
        constraints = [
            models.UniqueConstraint(fields=["feature", "driver"], name="unique_feature_driver")
        ]

    def __str__(self) -> str:
        return f"{self.feature} → {self.driver} ({self.contribution})"


class Risk(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class Evaluation(TimeStampedModel):
    """Engineering's estimate of a feature: effort, risk and confidence."""

    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="evaluations")
    effort = models.FloatField(_("effort (person-weeks)"), validators=[MinValueValidator(0)])
    risk = models.CharField(_("risk"), max_length=8, choices=Risk.choices, default=Risk.MEDIUM)
    risk_notes = models.TextField(_("risk notes"), blank=True)
    confidence = models.FloatField(
        _("confidence"), default=0.7, validators=[MinValueValidator(0), MaxValueValidator(1)]
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["feature", "-created_at", "-id"]
        get_latest_by = "created_at"
        indexes = [
            # Each feature's latest evaluation, read for a whole workspace when re-scoring it
            # (PostgreSQL reads the scores' inputs from the index alone).
            models.Index(
                fields=["feature", "-created_at", "-id"],
                include=["effort", "risk", "confidence"],
                name="evaluation_latest",
            )
        ]

    def __str__(self) -> str:
        return f"{self.feature}: {self.effort} pw, {self.risk} risk"


class RequestState(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")
    CANCELLED = "cancelled", _("Cancelled")


class EvaluationRequest(TimeStampedModel):
    """A product manager asks an engineer (a workspace member) to estimate a feature."""

    feature = models.ForeignKey(
        Feature, on_delete=models.CASCADE, related_name="evaluation_requests"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="evaluation_requests",
        verbose_name=_("engineer"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=RequestState.choices, default=RequestState.OPEN
    )
    evaluation = models.OneToOneField(
        Evaluation, null=True, blank=True, on_delete=models.SET_NULL, related_name="request"
    )
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["assignee", "state"])]

    def __str__(self) -> str:
        return f"{self.feature}: {self.assignee}"

    @property
    def is_open(self) -> bool:
        return self.state == RequestState.OPEN


class Verdict(models.TextChoices):
    PENDING = "pending", _("Pending")
    ITERATE = "iterate", _("Iterate")
    PROCEED = "proceed", _("Proceed")


class UxTest(TimeStampedModel):
    """One round of user testing of a prototype with a panel of stakeholders."""

    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="ux_tests")
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    prototype_url = models.URLField(_("prototype link"), max_length=500, blank=True)
    participants = models.ManyToManyField(
        "insights.Stakeholder", blank=True, related_name="ux_tests", verbose_name=_("panel")
    )
    findings = models.TextField(_("findings"), blank=True)
    verdict = models.CharField(
        _("verdict"), max_length=16, choices=Verdict.choices, default=Verdict.PENDING
    )
    tested_on = models.DateField(_("date"), null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["feature", "round", "id"]

    def __str__(self) -> str:
        return f"{self.feature}: UX round {self.round}"


class QaResult(models.TextChoices):
    PENDING = "pending", _("Pending")
    PASS = "pass", _("Passed")
    FAIL = "fail", _("Failed")


class QaCheck(TimeStampedModel):
    """QA's check of one expected outcome of a feature."""

    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="qa_checks")
    outcome = models.CharField(_("expected outcome"), max_length=300)
    result = models.CharField(
        _("result"), max_length=16, choices=QaResult.choices, default=QaResult.PENDING
    )
    notes = models.TextField(_("notes"), blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_at = models.DateTimeField(_("checked"), null=True, blank=True)

    class Meta:
        ordering = ["feature", "id"]

    def __str__(self) -> str:
        return f"{self.outcome} ({self.result})"


class Demo(TimeStampedModel):
    """A demonstration of a feature to an audience."""

    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="demos")
    held_on = models.DateField(_("date"))
    audience = models.CharField(_("audience"), max_length=200)
    recording_url = models.URLField(_("recording link"), max_length=500, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["feature", "-held_on", "-id"]

    def __str__(self) -> str:
        return f"{self.feature}: demo to {self.audience}"


class StageState(models.TextChoices):
    PLANNED = "planned", _("Planned")
    ACTIVE = "active", _("Active")
    DONE = "done", _("Done")
    HALTED = "halted", _("Halted")


class RolloutStage(TimeStampedModel):
    """One stage of a feature's rollout: from a date, to a share of users or to a segment."""

    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="rollout_stages")
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    starts_on = models.DateField(_("date"), null=True, blank=True)
    percent = models.PositiveSmallIntegerField(
        _("share of users (%)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    segment = models.ForeignKey(
        "insights.Segment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("segment"),
    )
    state = models.CharField(
        _("state"), max_length=16, choices=StageState.choices, default=StageState.PLANNED
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["feature", "order", "id"]

    def __str__(self) -> str:
        return f"{self.feature}: stage {self.order} ({self.audience_label})"

    @property
    def audience_label(self) -> str:
        parts = []
        if self.percent is not None:
            parts.append(f"{self.percent} %")
        if self.segment_id:
            parts.append(str(self.segment))
        return " · ".join(parts)


class CommsChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    IN_APP = "in_app", _("In-app")
    NEWSLETTER = "newsletter", _("Newsletter")
    BLOG = "blog", _("Blog")
    MEETING = "meeting", _("Meeting")


class CommsItem(TimeStampedModel):
    """One item of a feature's communication plan: who hears what, how and when."""

    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="comms_items")
    audience = models.CharField(_("audience"), max_length=200)
    channel = models.CharField(_("channel"), max_length=16, choices=CommsChannel.choices)
    message = models.TextField(_("message"))
    send_on = models.DateField(_("date"), null=True, blank=True)
    sent = models.BooleanField(_("sent"), default=False)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["feature", "send_on", "id"]

    def __str__(self) -> str:
        return f"{self.feature}: {self.get_channel_display()} to {self.audience}"


class OnboardingStep(TimeStampedModel):
    """A step of the in-product onboarding shown to users of a feature."""

    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="onboarding_steps")
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)

    class Meta:
        ordering = ["feature", "order", "id"]

    def __str__(self) -> str:
        return f"{self.feature}: {self.order}. {self.title}"
