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

    def get_absolute_url(self) -> str:
        return reverse(
            "strategy:key_result", kwargs={"ws": self.objective.workspace.slug, "pk": self.pk}
        )

    @property
    def progress(self) -> float | None:
        """Share of the way from baseline to target, 0.0–1.0 (None before any value)."""
        return self.progress_at(self.current)

    def progress_at(self, value: float | None) -> float | None:
        return progress_of(
            value, baseline=self.baseline, target=self.target, direction=self.direction
        )

    @property
    def quarter_bounds(self) -> tuple[dt.date, dt.date]:
        return quarter_bounds(self.objective.quarter)

    def value_at(self, day: dt.date) -> float | None:
        """The value of the latest check-in on or before `day` (uses prefetched check-ins)."""
        value = None
        for check_in in sorted(self.check_ins.all(), key=lambda c: (c.checked_on, c.id)):
            if check_in.checked_on > day:
                break
            value = check_in.value
        return value

    @property
    def grade(self) -> float | None:
        """The 0.0–1.0 grade: progress at the quarter's end (so far, while it runs)."""
        return self.progress_at(self.value_at(self.quarter_bounds[1]))

    @property
    def grade_is_final(self) -> bool:
        from django.utils import timezone

        return timezone.localdate() > self.quarter_bounds[1]

    def expected_on(self, day: dt.date) -> float:
        """Where the straight line from baseline (quarter start) to target (quarter end) is."""
        if self.direction in (Direction.KEEP_ABOVE, Direction.KEEP_BELOW):
            return self.target
        start, end = self.quarter_bounds
        length = max((end - start).days, 1)
        elapsed = min(max((day - start).days, 0), length)
        return self.baseline + (self.target - self.baseline) * elapsed / length


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


def quarter_bounds(quarter: str) -> tuple[dt.date, dt.date]:
    """First and last day of a quarter written "2026-Q4"."""
    year, q = int(quarter[:4]), int(quarter[6])
    start = dt.date(year, 3 * (q - 1) + 1, 1)
    end = (dt.date(year + 1, 1, 1) if q == 4 else dt.date(year, 3 * q + 1, 1)) - dt.timedelta(
        days=1
    )
    return start, end


def progress_of(value: float | None, *, baseline: float, target: float, direction: str):
    """Share of the way from baseline to target that `value` stands at, 0.0–1.0."""
    if value is None:
        return None
    if direction == Direction.KEEP_ABOVE:
        return 1.0 if value >= target else 0.0
    if direction == Direction.KEEP_BELOW:
        return 1.0 if value <= target else 0.0
    span = target - baseline
    if span == 0:
        return 1.0
    return max(0.0, min(1.0, (value - baseline) / span))


class FeatureScore(models.Model):
    """The term values of a feature's latest score, kept to explain the next change of rank.

    The terms are packed (`scoring.pack_terms`: 14 doubles in `scoring.TERM_NAMES` order), so
    that re-scoring a large workspace writes a short fixed-size row per changed feature."""

    feature = models.OneToOneField(
        "backlog.Feature", primary_key=True, on_delete=models.CASCADE, related_name="score_state"
    )
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    packed_terms = models.BinaryField(default=b"")
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["feature"]

    def __str__(self) -> str:
        return f"score terms of feature {self.feature_id}"

    @property
    def terms(self) -> dict[str, float | None]:
        from quarterdeck.strategy.scoring import unpack_terms

        return unpack_terms(self.packed_terms)


class NeedDemand(models.Model):
    """A need's counted demand as last summed from its insight links (`strategy.demand`), so
    that re-scoring a workspace sums again only the needs whose evidence changed.

    Σ importance × weight and Σ weight of the counted insights (a stakeholder's strongest per
    need, each anonymous group's strongest), decayed to `as_of` at `rate`; a later re-score
    decays both sums on from there. `groups` counts stakeholders and anonymous groups."""

    need = models.OneToOneField(
        "insights.Need", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    amount = models.FloatField()
    weight = models.FloatField()
    stakeholders = models.PositiveIntegerField()
    groups = models.PositiveIntegerField()
    rate = models.FloatField()  # ln 2 / half-life in days it was decayed with, 0: no decay
    as_of = models.FloatField()  # POSIX time the sums were decayed to

    def __str__(self) -> str:
        return f"demand of need {self.need_id}"


class DemandRevision(models.Model):
    """A workspace's counter of forgotten need demand: `NeedDemand` rows summed while it moved
    on may predate the change, so they are not kept."""

    workspace = models.OneToOneField(
        "accounts.Workspace", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"demand revision {self.value} of workspace {self.workspace_id}"


class RankChange(WorkspaceScopedModel):
    """A feature whose score changed: its rank and score before and after, and why."""

    feature = models.ForeignKey(
        "backlog.Feature", on_delete=models.CASCADE, related_name="rank_changes"
    )
    old_rank = models.PositiveIntegerField(_("old rank"), null=True, blank=True)
    new_rank = models.PositiveIntegerField(_("new rank"), null=True, blank=True)
    old_score = models.FloatField(_("old score"), null=True, blank=True)
    new_score = models.FloatField(_("new score"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    changes = models.JSONField(_("changed terms"), default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.feature_id}: {self.old_rank} → {self.new_rank}"

    @property
    def moved(self) -> int | None:
        """Places gained (positive) or lost (negative)."""
        if self.old_rank is None or self.new_rank is None:
            return None
        return self.old_rank - self.new_rank


class FeatureMeasurement(WorkspaceScopedModel):
    """A shipped feature's key result before shipping and a window after: measured vs expected."""

    feature = models.ForeignKey(
        "backlog.Feature", on_delete=models.CASCADE, related_name="measurements"
    )
    key_result = models.ForeignKey(KeyResult, on_delete=models.CASCADE, related_name="measurements")
    window_days = models.PositiveIntegerField(_("window (days)"), default=30)
    shipped_on = models.DateField(_("shipped on"))
    before = models.FloatField(_("value before"), null=True, blank=True)
    before_on = models.DateField(null=True, blank=True)
    after = models.FloatField(_("value after"), null=True, blank=True)
    after_on = models.DateField(null=True, blank=True)
    expected_change = models.FloatField(_("expected change"), null=True, blank=True)
    measured_at = models.DateTimeField(_("measured"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["feature", "key_result", "-measured_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["feature", "key_result", "window_days"], name="unique_feature_measurement"
            )
        ]

    def __str__(self) -> str:
        return f"{self.feature_id} on {self.key_result_id} after {self.window_days} days"

    @property
    def change(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def met_expectation(self) -> bool | None:
        """Whether the measured change reached the expected one (same sign, at least as big)."""
        change, expected = self.change, self.expected_change
        if change is None or expected is None:
            return None
        if expected == 0:
            return change == 0
        return change / expected >= 1.0

    @property
    def is_complete(self) -> bool:
        return self.after is not None
