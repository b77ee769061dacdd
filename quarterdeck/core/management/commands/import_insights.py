"""`quarterdeck import_insights FILE --workspace SLUG [--dry-run] [--skip-invalid]`"""

import sys

from django.core.management.base import BaseCommand, CommandError

from quarterdeck.accounts.models import User, Workspace
from quarterdeck.insights.importing import COLUMNS, format_errors, insights_import


class Command(BaseCommand):
    help = (
        "Import insights from a CSV file (columns: "
        + ", ".join(COLUMNS)
        + "). A file with an invalid row imports nothing unless --skip-invalid is given. "
        "Re-importing the same file updates instead of duplicating."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the CSV file (UTF-8), or - for standard input.")
        parser.add_argument("--workspace", required=True, help="Slug of the workspace.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Validate and report what would be created, updated or unchanged; write nothing.",
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Import the valid rows and report the invalid ones instead of importing nothing.",
        )
        parser.add_argument(
            "--as",
            dest="as_email",
            default="",
            help="Email of the member recorded as having captured the insights.",
        )

    def handle(self, *args, file, workspace, dry_run, skip_invalid, as_email, **options):
        ws = Workspace.objects.filter(slug=workspace).first()
        if ws is None:
            raise CommandError(f"No workspace with the slug {workspace!r}.")
        by = None
        if as_email:
            by = User.objects.filter(
                email=as_email.strip().lower(), memberships__workspace=ws
            ).first()
            if by is None:
                raise CommandError(f"{as_email} is not a member of the workspace {workspace!r}.")
        if file == "-":
            source, name = sys.stdin.buffer, "stdin"
        else:
            source, name = file, file
        try:
            report = insights_import(
                workspace=ws,
                file=source,
                by=by,
                dry_run=dry_run,
                skip_invalid=skip_invalid,
                filename=name,
            )
        except FileNotFoundError as exc:
            raise CommandError(f"No such file: {file}") from exc
        except IsADirectoryError as exc:
            raise CommandError(f"{file} is a directory, not a CSV file.") from exc
        for line in format_errors(report.errors):
            self.stderr.write(line)
        counts = f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged"
        if report.file_error:
            raise CommandError("Nothing imported: the file cannot be read as an insights CSV.")
        if report.errors and not skip_invalid:
            raise CommandError(
                f"Nothing imported: {len(report.errors)} invalid row(s) of {report.rows}. "
                "Fix them, or rerun with --skip-invalid to import the valid rows."
            )
        if dry_run:
            self.stdout.write(f"Dry run, nothing written: {report.rows} rows; would be {counts}.")
            if report.stakeholders_created:
                self.stdout.write(
                    f"{report.stakeholders_created} new stakeholder(s) would be created."
                )
        else:
            self.stdout.write(f"Imported {report.rows} rows into {ws.slug}: {counts}.")
            if report.stakeholders_created:
                self.stdout.write(f"{report.stakeholders_created} new stakeholder(s) created.")
        if report.skipped:
            self.stdout.write(f"{report.skipped} invalid row(s) skipped (listed above).")
