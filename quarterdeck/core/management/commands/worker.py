"""`quarterdeck worker`: runs background tasks (link suggestions, notifications, scores…)."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django_tasks import task_backends


def uses_database_backend() -> bool:
    from django_tasks_db.backend import DatabaseBackend

    return isinstance(task_backends["default"], DatabaseBackend)


class Command(BaseCommand):
    help = (
        "Run background tasks from the database queue (TASK_BACKEND=database). Start as many as "
        "you need; set EMBEDDED_WORKER=false on `quarterdeck serve` when you run them separately."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Seconds to wait between polls when the queue is empty (default 1).",
        )
        parser.add_argument(
            "--batch", action="store_true", help="Run every waiting task, then exit."
        )
        parser.add_argument(
            "--queue", default="*", help="Queue names, comma-separated (default *)."
        )

    def handle(self, *args, interval, batch, queue, verbosity, **options):
        if not uses_database_backend():
            backend = type(task_backends["default"]).__name__
            if backend == "ImmediateBackend":
                raise CommandError(
                    "TASK_BACKEND=immediate runs every task inside the request that enqueues it: "
                    "there is nothing for a worker to do."
                )
            if backend == "DummyBackend":
                raise CommandError(
                    "TASK_BACKEND=dummy never runs tasks (it is meant for tests); use "
                    "TASK_BACKEND=database to run them with this worker."
                )
            raise CommandError(
                f"The task backend {settings.TASKS['default']['BACKEND']} is not the database "
                "one: start that backend's own worker process instead (see its documentation), "
                "or set TASK_BACKEND=database."
            )
        call_command(
            "db_worker",
            queue_name=queue,
            interval=interval,
            batch=batch,
            reload=False,
            verbosity=verbosity,
        )
