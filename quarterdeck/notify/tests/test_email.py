"""Update emails through a real SMTP server (aiosmtpd) started by the test."""

import re

import pytest

from quarterdeck.notify import tasks
from quarterdeck.notify.models import Delivery, Event
from quarterdeck.notify.tests.conftest import parts
from quarterdeck.settings import _email_settings

pytestmark = pytest.mark.django_db


def test_email_url_parsing_selects_the_smtp_backend():
    assert _email_settings("smtp://127.0.0.1:2525") == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": 2525,
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
        "EMAIL_USE_SSL": False,
        "EMAIL_USE_TLS": False,
        "EMAIL_TIMEOUT": 10,
    }
    submission = _email_settings("submission://me%40x.org:s3cret@mail.example.com")
    assert submission["EMAIL_PORT"] == 587 and submission["EMAIL_USE_TLS"] is True
    assert submission["EMAIL_HOST_USER"] == "me@x.org"
    assert submission["EMAIL_HOST_PASSWORD"] == "s3cret"


def _unsubscribe_path(text):
    return re.search(r"http://quarterdeck\.test(/u/[^\s/]+/)", text).group(1)


def test_shipping_sends_one_email_over_smtp_and_never_a_duplicate(smtp_server, story, paula, move):
    move(story.feature, "shipped", paula)

    received = smtp_server.to("maria@example.org")
    assert len(received) == 1
    msg = received[0].msg
    assert msg["Subject"] == "Shipped: Project shortcuts"
    assert msg["To"] == "maria@example.org"
    assert msg["List-Unsubscribe"].strip().startswith("<http://quarterdeck.test/u/")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.is_multipart()
    text, html = parts(msg)
    assert "has shipped" in text and "Quicker access to my projects" in text
    assert "<html" in html and "Project shortcuts" in html and 'style="' in html
    assert _unsubscribe_path(text) == _unsubscribe_path(html)

    # Moving it again and re-running every task sends nothing more.
    move(story.feature, "rolling_out", paula)
    move(story.feature, "shipped", paula)
    for event in Event.objects.all():
        tasks.fan_out_event.enqueue(event.pk)
    for delivery in Delivery.objects.all():
        tasks.send_delivery.enqueue(delivery.pk)
    assert len(smtp_server.to("maria@example.org")) == 1


def test_unsubscribe_link_works_without_login_and_stops_further_emails(
    smtp_server, story, paula, move, client
):
    story.feature.status = "under_consideration"
    story.feature.save()
    move(story.feature, "studying", paula)
    first = smtp_server.to("maria@example.org")
    assert len(first) == 1
    assert first[0].msg["Subject"] == "We're looking into it: Project shortcuts"
    text, _html = parts(first[0].msg)

    response = client.get(_unsubscribe_path(text))  # nobody is logged in
    assert response.status_code == 200
    assert "You're unsubscribed" in response.content.decode()

    move(story.feature, "declined", paula, reason="Out of scope this year.")
    assert len(smtp_server.to("maria@example.org")) == 1
