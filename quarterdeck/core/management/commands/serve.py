"""`quarterdeck serve`: the production web server (gunicorn), plus, in the embedded default, a
background worker process, so that one command runs everything."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from quarterdeck.core.management.commands.worker import uses_database_backend

STAMP = ".quarterdeck-collected"


def static_is_stale() -> bool:
    """Whether STATIC_ROOT is missing or older than any static source file."""
    stamp = Path(settings.STATIC_ROOT) / STAMP
    if not stamp.exists():
        return True
    collected = stamp.stat().st_mtime
    for finder in get_finders():
        for path, storage in finder.list([]):
            try:
                if os.path.getmtime(storage.path(path)) > collected:
                    return True
            except (NotImplementedError, OSError):
                return True
    return False


def collect_static() -> None:
    call_command("collectstatic", interactive=False, verbosity=0)
    stamp = Path(settings.STATIC_ROOT) / STAMP
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.touch()


def unapplied_migrations() -> int:
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def demo_ready() -> bool:
    from quarterdeck.accounts.models import Workspace

    return Workspace.objects.filter(slug="demo").exists()


class Command(BaseCommand):
    help = (
        "Serve Quarterdeck with gunicorn. With EMBEDDED_WORKER=true (the default) and the "
        "database task backend, a background worker runs alongside, so no second command is needed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--host", default="127.0.0.1", help="Address to bind (default 127.0.0.1)."
        )
        parser.add_argument("--port", type=int, default=8000, help="Port (default 8000).")
        parser.add_argument(
            "--workers", type=int, default=2, help="Web worker processes (default 2)."
        )
        parser.add_argument(
            "--threads", type=int, default=4, help="Threads per web worker (default 4)."
        )
        parser.add_argument(
            "--timeout", type=int, default=120, help="Seconds before a stuck request is killed."
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not start the embedded background worker (run `quarterdeck worker` instead).",
        )

    def handle(self, *args, host, port, workers, threads, timeout, no_worker, **options):
        if workers < 1:
            raise CommandError("--workers must be 1 or more.")
        if static_is_stale():
            self.stdout.write("Collecting static files…")
            collect_static()
        pending = unapplied_migrations()
        if pending:
            self.stderr.write(
                f"Warning: {pending} database migration(s) are not applied; "
                "run `quarterdeck migrate` first."
            )
        url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
        self.stdout.write(f"Quarterdeck is running at {url}  (Ctrl+C to stop)")
        if not pending and demo_ready():
            self.stdout.write("Demo login: pm@example.com / demo")

        worker = None
        if settings.EMBEDDED_WORKER and not no_worker:
            if uses_database_backend():
                worker = subprocess.Popen(  # noqa: S603
                    [sys.executable, "-m", "quarterdeck.cli", "worker", "-v", "0"],
                    env=os.environ.copy(),
                )
                self.stdout.write("Background worker started (EMBEDDED_WORKER=true).")
            else:
                self.stdout.write(
                    "Embedded worker not started: the task backend is not the database one."
                )
        self.stdout.flush()
        try:
            _Server(
                {
                    "bind": f"{host}:{port}",
                    "workers": workers,
                    "threads": threads,
                    "timeout": timeout,
                    "accesslog": "-",
                    "errorlog": "-",
                    "loglevel": "warning",
                    "on_exit": lambda _server: _stop(worker),
                }
            ).run()
        finally:
            _stop(worker)


def _stop(process) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


class _Server:
    """gunicorn's Python API around `quarterdeck.wsgi`."""

    def __new__(cls, options):
        from gunicorn.app.base import BaseApplication

        class Application(BaseApplication):
            def load_config(self):
                for key, value in options.items():
                    if value is not None and key in self.cfg.settings:
                        self.cfg.set(key, value)

            def load(self):
                from quarterdeck.wsgi import application

                return application

        return Application()
