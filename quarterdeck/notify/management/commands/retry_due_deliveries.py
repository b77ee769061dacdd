from django.core.management.base import BaseCommand

from quarterdeck.notify import services


class Command(BaseCommand):
    help = (
        "Try every email and webhook delivery whose next attempt is due, and fan out updates "
        "a worker never got to. Safe to run as often as you like (e.g. every minute from cron)."
    )

    def handle(self, *args, **options):
        tried = services.deliveries_retry_due()
        self.stdout.write(f"{tried} delivery attempt(s) made.")
