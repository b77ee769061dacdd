"""Workspaces (tenants), users, memberships with roles, and API tokens."""

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from quarterdeck.core.models import TimeStampedModel


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in. The email address is the login."""

    username = None
    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email.split("@")[0]


class Workspace(TimeStampedModel):
    """A company's product organisation: the tenant every other row belongs to."""

    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=150)
    scoring = models.JSONField(_("scoring configuration"), default=dict, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("core:home", kwargs={"ws": self.slug})


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    PRODUCT_MANAGER = "product_manager", _("Product manager")
    CONTRIBUTOR = "contributor", _("Contributor")
    STAKEHOLDER = "stakeholder", _("Stakeholder")
    VIEWER = "viewer", _("Viewer")


WRITER_ROLES = frozenset({Role.ADMIN, Role.PRODUCT_MANAGER, Role.CONTRIBUTOR})
MANAGER_ROLES = frozenset({Role.ADMIN, Role.PRODUCT_MANAGER})


class Membership(TimeStampedModel):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        ordering = ["workspace", "user"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="unique_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role in WRITER_ROLES

    @property
    def can_manage(self) -> bool:
        return self.role in MANAGER_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class ApiTokenQuerySet(models.QuerySet):
    def for_key(self, key: str):
        """The live token whose secret is `key` (only its SHA-256 is stored)."""
        return self.filter(key_hash=ApiToken.hash_key(key), revoked_at__isnull=True).select_related(
            "workspace", "user"
        )


class ApiToken(TimeStampedModel):
    """A bearer token scoped to one workspace, acting as one member. Stored hashed."""

    PREFIX = "qd_"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    key_hint = models.CharField(max_length=12)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.key_hint}… ({self.user})"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def generate_key(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)
