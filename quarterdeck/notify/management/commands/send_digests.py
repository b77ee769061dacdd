from django.core.management.base import BaseCommand

from quarterdeck.notify import services


class Command(BaseCommand):
    help = "Send the daily digest email to every member who chose it and has notices waiting."

    def handle(self, *args, **options):
        sent = services.digests_send()
        self.stdout.write(f"{sent} digest email(s) sent.")
