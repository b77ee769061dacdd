"""Squads: a product manager and the engineers, QA and designer who deliver with them."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from quarterdeck.core.models import TimeStampedModel, WorkspaceScopedModel


class Squad(WorkspaceScopedModel):
    name = models.CharField(_("name"), max_length=100)
    mission = models.TextField(_("mission"), blank=True)
    product_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    color = models.CharField(_("colour"), max_length=7, default="#2563eb")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_squad_name")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("squads:detail", kwargs={"ws": self.workspace.slug, "pk": self.pk})


class SquadRole(models.TextChoices):
    PRODUCT_MANAGER = "product_manager", _("Product manager")
    BACKEND = "backend", _("Backend developer")
    FRONTEND = "frontend", _("Frontend developer")
    QA = "qa", _("QA manager")
    DESIGNER = "designer", _("Product designer")
    OTHER = "other", _("Other")


class SquadMember(TimeStampedModel):
    squad = models.ForeignKey(Squad, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="squad_memberships"
    )
    role = models.CharField(_("role"), max_length=32, choices=SquadRole.choices)

    class Meta:
        ordering = ["squad", "role", "id"]
        constraints = [
            models.UniqueConstraint(fields=["squad", "user", "role"], name="unique_squad_member")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"
