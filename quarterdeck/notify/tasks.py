"""Background work of notify (django-tasks). Every task is idempotent: running one twice, or
after a worker died half-way, never tells anybody twice."""

from django_tasks import task

from quarterdeck.notify import services


@task()
def fan_out_event(event_id: int) -> int:
    """Create the notices and deliveries of one important step; each delivery is its own task."""
    return len(services.event_fan_out(event_id=event_id))


@task()
def send_delivery(delivery_id: int) -> str:
    """Try one email or webhook call; a failure schedules the next try with backoff."""
    delivery = services.delivery_attempt(delivery_id=delivery_id)
    return delivery.state if delivery is not None else "missing"


@task()
def retry_due_deliveries() -> int:
    """Sweep: fan out forgotten events and try every delivery whose next attempt is due."""
    return services.deliveries_retry_due()


@task()
def send_digests() -> int:
    """Send the daily digest email to every member who chose it and has notices waiting."""
    return services.digests_send()
