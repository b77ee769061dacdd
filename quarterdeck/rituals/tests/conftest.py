"""Shared fixtures of the rituals tests: a local SMTP server, tasks run at once, dated rows."""

import datetime as dt
import socket
from email import message_from_bytes, policy
from types import SimpleNamespace

import pytest
from django.utils import timezone

from quarterdeck.core.models import Activity


def at(year, month, day, hour=10):
    return timezone.make_aware(dt.datetime(year, month, day, hour, 0))


def status_move(feature, old, new, when, actor=None):
    """An Activity row for a status move, dated `when` (as the backlog service writes it)."""
    row = Activity.objects.create(
        workspace=feature.workspace,
        actor=actor,
        verb="status_changed",
        target_type="feature",
        target_id=feature.pk,
        target_label=feature.title,
        changes={"status": [old, new]},
    )
    Activity.objects.filter(pk=row.pk).update(created_at=when)
    return row


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        self.messages.append(
            SimpleNamespace(
                rcpt=list(envelope.rcpt_tos),
                msg=message_from_bytes(envelope.content, policy=policy.default),
            )
        )
        return "250 Message accepted"

    def to(self, address):
        return [m for m in self.messages if address in m.rcpt]


def bodies(message):
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return (text.get_content() if text else ""), (html.get_content() if html else "")


@pytest.fixture
def smtp(settings):
    """A real SMTP server on 127.0.0.1 and a free port; Django's SMTP backend sends to it."""
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def run_tasks(settings):
    """Background tasks run as soon as they are enqueued (on commit)."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": []}
    }
