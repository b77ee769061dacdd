"""`quarterdeck demo [--reset]`: load the Lumen Academy demo workspace (idempotent)."""

from django.core.management.base import BaseCommand, CommandError

from quarterdeck.demo import DemoExists, build_demo, is_loaded


class Command(BaseCommand):
    help = (
        "Load the demo workspace “demo” (Lumen Academy, an online school). Running it again "
        "changes nothing; --reset deletes the demo workspace and builds it again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="Delete the demo workspace and rebuild it."
        )

    def handle(self, *args, reset, verbosity, **options):
        already = is_loaded() and not reset
        out = self.stdout if verbosity >= 1 else None
        if not already and out is not None:
            out.write("Building the demo workspace…")
        try:
            workspace = build_demo(stdout=out, reset=reset)
        except DemoExists as exc:
            raise CommandError(str(exc)) from exc
        if not already and verbosity >= 1:
            self.stdout.write(
                self.style.SUCCESS(f"Demo workspace “{workspace.name}” is ready at /w/demo/.")
            )
        if verbosity >= 1:
            self.stdout.write("Sign in as pm@example.com / demo (or admin@example.com / demo).")
