"""Outgoing webhooks against a real HTTP receiver on 127.0.0.1."""

import hashlib
import hmac
import json

import pytest
from django.core.exceptions import ValidationError

from quarterdeck.notify import services
from quarterdeck.notify.models import Delivery, DeliveryState

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook(acme, alice, receiver):
    return services.webhook_create(workspace=acme, url=receiver.url, by=alice)


def _expected_signature(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_shipping_posts_signed_json_and_stores_the_response(hook, receiver, story, paula, move):
    move(story.feature, "shipped", paula)

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.headers["X-Quarterdeck-Signature"] == _expected_signature(
        hook.secret, request.body
    )
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Quarterdeck-Event"] == "feature.shipped"
    body = json.loads(request.body)
    assert body["type"] == "feature.shipped"
    assert body["feature"]["id"] == story.feature.pk
    assert body["feature"]["title"] == "Project shortcuts"
    assert (body["from"], body["to"]) == ("rolling_out", "shipped")
    assert body["workspace"]["slug"] == "acme"

    delivery = Delivery.objects.get(webhook=hook)
    assert delivery.state == DeliveryState.SENT
    assert delivery.attempts == 1
    assert delivery.response_status == 200
    assert json.loads(delivery.response_body) == {"received": True}
    assert delivery.request_body.encode() == request.body
    attempt = delivery.tries.get()
    assert attempt.ok and attempt.response_status == 200


def test_a_failing_receiver_is_retried_with_backoff_until_it_recovers(
    hook, receiver, story, paula, move
):
    receiver.statuses = [500, 500]
    move(story.feature, "shipped", paula)

    delivery = Delivery.objects.get(webhook=hook)
    assert delivery.state == DeliveryState.FAILED
    assert delivery.attempts == 1
    assert delivery.response_status == 500
    first_wait = delivery.next_attempt_at - delivery.last_attempt_at
    assert first_wait.total_seconds() == 30

    services.deliveries_retry_due(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert delivery.attempts == 2
    second_wait = delivery.next_attempt_at - delivery.last_attempt_at
    assert second_wait > first_wait

    services.deliveries_retry_due(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT
    assert delivery.attempts == 3
    assert delivery.next_attempt_at is None
    assert [t.response_status for t in delivery.tries.order_by("number")] == [500, 500, 200]

    assert len(receiver.requests) == 3
    assert len({r.body for r in receiver.requests}) == 1  # the same signed body every time
    for r in receiver.requests:
        assert r.headers["X-Quarterdeck-Signature"] == _expected_signature(hook.secret, r.body)
    assert [r.headers["X-Quarterdeck-Attempt"] for r in receiver.requests] == ["1", "2", "3"]


def test_a_delivery_gives_up_after_six_attempts(hook, receiver, story, paula, move):
    receiver.statuses = [503] * 10
    move(story.feature, "shipped", paula)
    delivery = Delivery.objects.get(webhook=hook)
    while delivery.state == DeliveryState.FAILED:
        services.deliveries_retry_due(now=delivery.next_attempt_at)
        delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DEAD
    assert delivery.attempts == Delivery.MAX_ATTEMPTS == 6
    assert len(receiver.requests) == 6

    receiver.statuses = []
    services.delivery_redeliver(delivery=delivery)
    services.deliveries_retry_due()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT


def test_an_unreachable_receiver_is_a_failed_attempt_with_its_error(
    acme, alice, story, paula, move
):
    from quarterdeck.notify.tests.conftest import free_port

    hook = services.webhook_create(
        workspace=acme, url=f"http://127.0.0.1:{free_port()}/nobody", by=alice
    )
    move(story.feature, "shipped", paula)
    delivery = Delivery.objects.get(webhook=hook)
    assert delivery.state == DeliveryState.FAILED
    assert delivery.response_status is None
    assert "Connection refused" in delivery.last_error or "URLError" in delivery.last_error


def test_disabled_webhooks_and_unwanted_events_get_nothing(
    hook, receiver, acme, alice, story, paula, move
):
    services.webhook_update(webhook=hook, active=False, by=alice)
    only_declined = services.webhook_create(
        workspace=acme, url=receiver.url, events=["declined"], by=alice
    )
    move(story.feature, "shipped", paula)
    assert receiver.requests == []
    assert not Delivery.objects.filter(webhook__in=[hook, only_declined]).exists()


@pytest.mark.parametrize(
    "url", ["ftp://example.com/hook", "file:///etc/passwd", "javascript:alert(1)", "", "http://"]
)
def test_only_http_and_https_urls_are_accepted(acme, alice, url):
    with pytest.raises(ValidationError) as err:
        services.webhook_create(workspace=acme, url=url, by=alice)
    assert "url" in err.value.message_dict


def test_unknown_events_are_refused(acme, alice):
    with pytest.raises(ValidationError) as err:
        services.webhook_create(
            workspace=acme, url="https://example.com/h", events=["exploded"], by=alice
        )
    assert "exploded" in err.value.message_dict["events"][0]


def test_with_a_queue_the_retry_is_enqueued_to_run_after_the_backoff(
    hook, receiver, story, paula, move, settings, run_on_commit
):
    from django_tasks_db.models import DBTaskResult

    receiver.statuses = [500]
    move(story.feature, "shipped", paula)  # runs inline: first try fails
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}
    delivery = Delivery.objects.get(webhook=hook)
    Delivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.PENDING, attempts=0)
    receiver.statuses = [500]
    with run_on_commit():
        services.delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    queued = DBTaskResult.objects.get(task_path="quarterdeck.notify.tasks.send_delivery")
    assert queued.args_kwargs["args"] == [delivery.pk]
    assert queued.run_after == delivery.next_attempt_at
