"""`quarterdeck create_token EMAIL --workspace SLUG`: prints a new API token, and nothing else."""

from django.core.management.base import BaseCommand, CommandError

from quarterdeck.accounts.models import Membership, User, Workspace
from quarterdeck.accounts.services import token_create


class Command(BaseCommand):
    help = (
        "Create an API token acting as a member of one workspace and print it (only the token, "
        "so that scripts can capture it). Only its hash is stored: it cannot be shown again."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="Email of the member the token acts as.")
        parser.add_argument("--workspace", required=True, help="Slug of the workspace.")
        parser.add_argument("--name", default="command line", help="A label for the token.")

    def handle(self, *args, email, workspace, name, **options):
        email = email.strip().lower()
        ws = Workspace.objects.filter(slug=workspace).first()
        if ws is None:
            raise CommandError(f"No workspace with the slug {workspace!r}.")
        user = User.objects.filter(email=email).first()
        if user is None:
            raise CommandError(f"No user with the email {email!r}.")
        if not Membership.objects.filter(workspace=ws, user=user).exists():
            raise CommandError(f"{email} is not a member of the workspace {workspace!r}.")
        _token, key = token_create(workspace=ws, user=user, name=name)
        self.stdout.write(key)
