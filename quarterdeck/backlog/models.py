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
    score = models.FloatField(_("score"), null=True, blank=True, db_index=True)
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

    def __str__(self) -> str:
        return f"{self.feature}: {self.effort} pw, {self.risk} risk"
