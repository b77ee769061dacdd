"""`quarterdeck newsletter --workspace SLUG --month YYYY-MM [--format md|html] [--save]`

Prints the month's issue drafted from the data (see quarterdeck/rituals/newsletter.py for what
goes in each section). With --save, also stores it as the month's draft in the web app (an
edited draft keeps its edits; a published issue is never changed).
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from quarterdeck.accounts.models import Workspace
from quarterdeck.rituals import newsletter as newsletter_lib
from quarterdeck.rituals import services


class Command(BaseCommand):
    help = "Draft the monthly product newsletter of a workspace and print it."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="The workspace's slug.")
        parser.add_argument("--month", required=True, help="The month, as YYYY-MM.")
        parser.add_argument("--format", choices=["md", "html"], default="md")
        parser.add_argument(
            "--save", action="store_true", help="Also store it as the month's draft."
        )

    def handle(self, *args, workspace, month, format, save, **options):  # noqa: A002
        ws = Workspace.objects.filter(slug=workspace).first()
        if ws is None:
            raise CommandError(f"No workspace with the slug {workspace!r}.")
        try:
            first = newsletter_lib.parse_month(month)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        text = newsletter_lib.generate(ws, first).markdown()
        if save:
            try:
                services.newsletter_draft(workspace=ws, month=first)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
        if format == "html":
            self.stdout.write(str(newsletter_lib.markdown_to_html(text)))
        else:
            self.stdout.write(text, ending="")
