"""Strategic drivers and quarterly OKRs: objectives, key results and their check-ins."""

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from quarterdeck.core.models import TimeStampedModel, WorkspaceScopedModel


def quarter_of(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


class Driver(WorkspaceScopedModel):
    """A strategic driver (Acquisition, User engagement…) with its weight."""

    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    weight = models.FloatField(_("weight"), default=1.0, validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["-weight", "name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_driver_name")
        ]

    def __str__(self) -> str:
        return self.name


class Objective(WorkspaceScopedModel):
    """A quarterly objective, company-level or owned by a squad."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    quarter = models.CharField(_("quarter"), max_length=7, db_index=True)  # "2026-Q4"
    squad = models.ForeignKey(
        "squads.Squad", null=True, blank=True, on_delete=models.SET_NULL, related_name="objectives"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-quarter", "title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("strategy:okrs", kwargs={"ws": self.workspace.slug}) + f"?q={self.quarter}"


class Direction(models.TextChoices):
    INCREASE = "increase", _("Increase")
    DECREASE = "decrease", _("Decrease")
    KEEP_ABOVE = "keep_above", _("Keep above")
    KEEP_BELOW = "keep_below", _("Keep below")


class KeyResult(TimeStampedModel):
    """A measurable result: metric moving from baseline towards target."""

    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="key_results")
    metric = models.CharField(_("metric"), max_length=200)
    unit = models.CharField(_("unit"), max_length=32, blank=True)
    baseline = models.FloatField(_("baseline"))
    target = models.FloatField(_("target"))
    direction = models.CharField(
        _("direction"), max_length=16, choices=Direction.choices, default=Direction.INCREASE
    )
    current = models.FloatField(_("current value"), null=True, blank=True)

    class Meta:
        ordering = ["objective", "id"]

    def __str__(self) -> str:
        return self.metric

    @property
    def workspace_id(self) -> int:
        return self.objective.workspace_id

    @property
    def progress(self) -> float | None:
        """Share of the way from baseline to target, 0.0–1.0 (None before any value)."""
        value = self.current
        if value is None:
            return None
        if self.direction == Direction.KEEP_ABOVE:
            return 1.0 if value >= self.target else 0.0
        if self.direction == Direction.KEEP_BELOW:
            return 1.0 if value <= self.target else 0.0
        span = self.target - self.baseline
        if span == 0:
            return 1.0
        return max(0.0, min(1.0, (value - self.baseline) / span))


class CheckIn(TimeStampedModel):
    """A dated value of a key result, with the owner's confidence."""

    key_result = models.ForeignKey(KeyResult, on_delete=models.CASCADE, related_name="check_ins")
    value = models.FloatField(_("value"))
    confidence = models.FloatField(
        _("confidence"),
        default=0.7,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    comment = models.TextField(_("comment"), blank=True)
    checked_on = models.DateField(_("date"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["key_result", "checked_on", "id"]

    def __str__(self) -> str:
        return f"{self.key_result}: {self.value} on {self.checked_on}"
