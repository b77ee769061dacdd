"""Fixtures of the notify tests: tasks run inline, a real SMTP server, a real webhook receiver,
and the story of a stakeholder who asked for a feature."""

import json
import socket
import threading
from contextlib import contextmanager
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from quarterdeck.backlog import services as backlog
from quarterdeck.testing.factories import (
    FeatureFactory,
    InsightFactory,
    InsightLinkFactory,
    NeedFactory,
    StakeholderFactory,
)

IMMEDIATE_TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": []}
}


@pytest.fixture(autouse=True)
def immediate_tasks(settings):
    """Background tasks run synchronously, as soon as they are enqueued."""
    settings.TASKS = IMMEDIATE_TASKS
    settings.SITE_URL = "http://quarterdeck.test"


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run a block and then its on-commit callbacks (the tasks it enqueues), like a real commit."""

    @contextmanager
    def run():
        with django_capture_on_commit_callbacks(execute=True):
            yield

    return run


@pytest.fixture
def move(run_on_commit):
    """Move a feature through the backlog's own service, committing (so notices go out)."""

    def go(feature, to, by, reason=""):
        if to in ("rolling_out", "shipped") and not feature.rollout_stages.exists():
            backlog.rollout_stage_create(feature=feature, percent=100, by=by)
        with run_on_commit():
            return backlog.feature_transition(feature=feature, to=to, by=by, reason=reason)

    return go


@pytest.fixture
def story(acme):
    """Maria (a stakeholder) told us about a need; the feature "Project shortcuts" answers it."""
    need = NeedFactory(workspace=acme, title="Quicker access to my projects")
    maria = StakeholderFactory(workspace=acme, name="Maria Lopez", email="maria@example.org")
    insight = InsightFactory(
        workspace=acme, stakeholder=maria, text="I lose minutes finding my projects every day."
    )
    InsightLinkFactory(need=need, insight=insight, workspace=acme)
    feature = FeatureFactory(workspace=acme, title="Project shortcuts", status="rolling_out")
    feature.needs.add(need)
    return SimpleNamespace(need=need, maria=maria, insight=insight, feature=feature)


# -- a real SMTP server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(
            SimpleNamespace(rcpt=list(envelope.rcpt_tos), mail_from=envelope.mail_from, msg=message)
        )
        return "250 OK"

    def to(self, address):
        return [m for m in self.messages if address in m.rcpt]


@pytest.fixture
def smtp_server(settings):
    """An SMTP server on 127.0.0.1 (aiosmtpd) and Django's SMTP backend pointed at it."""
    from aiosmtpd.controller import Controller

    from quarterdeck.settings import _email_settings

    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    for key, value in _email_settings(f"smtp://127.0.0.1:{port}").items():
        setattr(settings, key, value)
    inbox.port = port
    try:
        yield inbox
    finally:
        controller.stop()


def parts(message):
    """(text, html) bodies of an email.message.EmailMessage."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return (text.get_content() if text else ""), (html.get_content() if html else "")


# -- a real webhook receiver -------------------------------------------------------------------


class Receiver:
    def __init__(self):
        self.requests = []
        self.statuses = []  # answers to give, in order; then 200
        self.server = None

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/quarterdeck"

    def answer(self):
        return self.statuses.pop(0) if self.statuses else 200


@pytest.fixture
def receiver():
    """An HTTP server in a thread that records every POST and answers the queued statuses."""
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            state.requests.append(SimpleNamespace(headers=dict(self.headers), body=body))
            status = state.answer()
            answer = json.dumps({"received": status < 300}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
