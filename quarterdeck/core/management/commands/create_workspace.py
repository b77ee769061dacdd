"""`quarterdeck create_workspace SLUG --name NAME --admin EMAIL [--password P]`"""

import secrets

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email, validate_slug

from quarterdeck.accounts.models import User, Workspace
from quarterdeck.accounts.services import workspace_create


class Command(BaseCommand):
    help = "Create a workspace with its first admin and the default segments."

    def add_arguments(self, parser):
        parser.add_argument(
            "slug", help="Short name used in URLs (/w/<slug>/): letters, digits, -."
        )
        parser.add_argument("--name", required=True, help="Display name, e.g. “Acme Learning”.")
        parser.add_argument("--admin", required=True, help="Email of the first admin.")
        parser.add_argument(
            "--password",
            default="",
            help="Password for a new admin user (default: a random one, printed once).",
        )

    def handle(self, *args, slug, name, admin, password, **options):
        slug = slug.strip().lower()
        admin = admin.strip().lower()
        try:
            validate_slug(slug)
        except ValidationError as exc:
            raise CommandError(
                f"{slug!r} is not a valid slug: use letters, digits, hyphens and underscores."
            ) from exc
        if not name.strip():
            raise CommandError("--name cannot be empty.")
        try:
            validate_email(admin)
        except ValidationError as exc:
            raise CommandError(f"{admin!r} is not an email address.") from exc
        if Workspace.objects.filter(slug=slug).exists():
            raise CommandError(f"A workspace with the slug {slug!r} already exists.")
        generated = ""
        if not password and not User.objects.filter(email=admin).exists():
            generated = password = secrets.token_urlsafe(12)
        workspace = workspace_create(
            slug=slug, name=name.strip(), admin_email=admin, password=password or None
        )
        self.stdout.write(f"Created workspace {workspace.slug} ({workspace.name}); admin {admin}.")
        if generated:
            self.stdout.write(f"Password for {admin}: {generated}")
