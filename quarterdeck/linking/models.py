"""Vectors, link suggestions, duplicate groups and themes."""

import datetime as dt
import uuid

import numpy as np
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quarterdeck.core.models import WorkspaceScopedModel


def _new_epoch() -> str:
    return uuid.uuid4().hex


class VectorRevision(WorkspaceScopedModel):
    """The workspace's counter of vector writes.

    Each transaction that stores vectors takes the next revision (the row stays locked until it
    commits) and stamps it on every row it writes, so revisions become visible in the order they
    were taken: a process that has loaded the rows up to revision R catches up by reading the rows
    above R, and misses none. `epoch` is new whenever the counter is; an index built under another
    epoch is built again."""

    epoch = models.CharField(max_length=32, default=_new_epoch)
    revision = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["workspace_id"]
        constraints = [models.UniqueConstraint(fields=["workspace"], name="unique_vector_revision")]

    def __str__(self) -> str:
        return f"vectors of {self.workspace_id} at revision {self.revision}"


class VectorMixin(models.Model):
    """An embedding stored as float16 bytes; `array` gives it back as float32."""

    provider = models.CharField(_("provider"), max_length=100)
    dim = models.PositiveIntegerField(_("dimensions"))
    vector = models.BinaryField(_("vector"))
    revision = models.PositiveBigIntegerField(
        default=0, help_text=_("The workspace’s vector revision that wrote this row.")
    )

    class Meta:
        abstract = True

    @property
    def array(self) -> np.ndarray:
        return np.frombuffer(bytes(self.vector), dtype=np.float16).astype(np.float32)

    @staticmethod
    def pack(row: np.ndarray) -> bytes:
        return np.asarray(row, dtype=np.float16).tobytes()


class InsightVector(VectorMixin, WorkspaceScopedModel):
    """The embedding of one insight's text."""

    insight = models.OneToOneField(
        "insights.Insight", on_delete=models.CASCADE, related_name="vector"
    )
    text_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["insight_id"]
        indexes = [models.Index(fields=["workspace", "provider", "revision"])]

    def __str__(self) -> str:
        return f"vector of insight {self.insight_id}"


class ItemKind(models.TextChoices):
    NEED = "need", _("Need")
    FEATURE = "feature", _("Feature")


class ItemVector(VectorMixin, WorkspaceScopedModel):
    """The embedding of a need's or a feature's title and description (for search and fallback)."""

    kind = models.CharField(max_length=16, choices=ItemKind.choices)
    object_id = models.PositiveBigIntegerField()
    text_hash = models.CharField(max_length=64)
    source_updated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("The need’s or feature’s `updated_at` when this vector was last checked."),
    )

    class Meta:
        ordering = ["kind", "object_id"]
        indexes = [models.Index(fields=["workspace", "kind", "provider", "revision"])]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "kind", "object_id", "provider"], name="unique_item_vector"
            )
        ]

    def __str__(self) -> str:
        return f"vector of {self.kind} {self.object_id}"


class LinkSuggestion(WorkspaceScopedModel):
    """One suggested need for an insight (rank 1 is the best), or the insight's no-match verdict."""

    class Method(models.TextChoices):
        MODEL = "model", _("Learnt from this workspace's links")
        SIMILARITY = "similarity", _("Similarity to each need")

    insight = models.ForeignKey(
        "insights.Insight", on_delete=models.CASCADE, related_name="link_suggestions"
    )
    need = models.ForeignKey(
        "insights.Need", on_delete=models.CASCADE, related_name="link_suggestions"
    )
    rank = models.PositiveSmallIntegerField(_("rank"))
    confidence = models.FloatField(_("confidence"))
    no_match = models.BooleanField(
        _("no existing need fits"),
        default=False,
        help_text=_("Set on every row of an insight that fits no existing need well."),
    )
    method = models.CharField(max_length=16, choices=Method.choices, default=Method.SIMILARITY)
    model_version = models.CharField(_("model version"), max_length=100, blank=True)
    accepted = models.BooleanField(_("accepted"), default=False)
    dismissed = models.BooleanField(_("dismissed"), default=False)

    class Meta:
        ordering = ["insight_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["insight", "need"], name="unique_link_suggestion")
        ]

    def __str__(self) -> str:
        return f"{self.insight_id} → {self.need_id} ({self.confidence:.0%})"


class WorkspaceLinker(WorkspaceScopedModel):
    """The workspace's trained link model (`Linker.to_bytes()`), retrained as links are recorded."""

    provider = models.CharField(_("provider"), max_length=100)
    blob = models.BinaryField()
    n_links = models.PositiveIntegerField(_("links learnt from"), default=0)
    n_needs = models.PositiveIntegerField(_("needs learnt"), default=0)
    full_fit_links = models.PositiveIntegerField(default=0)
    trained_at = models.DateTimeField(_("trained"))

    class Meta:
        ordering = ["workspace_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "provider"], name="unique_workspace_linker"
            )
        ]

    def __str__(self) -> str:
        return f"linker of {self.workspace_id} ({self.n_links} links)"

    @property
    def version(self) -> str:
        return f"{self.provider}@{self.trained_at:%Y%m%d%H%M%S}/{self.n_links}"


class LinkingProgress(WorkspaceScopedModel):
    """How far the suggestions for recently arrived insights have got (bulk imports)."""

    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["workspace_id"]
        constraints = [models.UniqueConstraint(fields=["workspace"], name="unique_progress")]

    def __str__(self) -> str:
        return f"{self.done}/{self.total}"

    @property
    def running(self) -> bool:
        return self.done < self.total

    @property
    def recent(self) -> bool:
        """Finished within the last quarter of an hour (worth telling)."""
        return timezone.now() - self.updated_at < dt.timedelta(minutes=15)

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 100


class NotDuplicate(WorkspaceScopedModel):
    """A person said these two insights are not duplicates: never group them again."""

    insight = models.ForeignKey("insights.Insight", on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey("insights.Insight", on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["insight", "other"], name="unique_not_duplicate")
        ]

    def __str__(self) -> str:
        return f"{self.insight_id} ≠ {self.other_id}"


class Theme(WorkspaceScopedModel):
    """A cluster of new, unlinked insights that speak of the same thing."""

    name = models.CharField(_("name"), max_length=200)
    terms = models.JSONField(_("top terms"), default=list)
    insights = models.ManyToManyField("insights.Insight", related_name="themes")
    quotes = models.JSONField(_("representative quotes"), default=list)
    segment_counts = models.JSONField(_("insights by segment"), default=dict)
    size = models.PositiveIntegerField(_("insights"), default=0)
    need = models.ForeignKey(
        "insights.Need", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-size", "name"]

    def __str__(self) -> str:
        return self.name
