"""Background work of the rituals (django-tasks). Both tasks are idempotent: running one twice
sends nothing twice."""

from django_tasks import task

from quarterdeck.rituals import services


@task()
def send_minutes(meeting_id: int, stamp: str) -> int:
    """Email a meeting's minutes to its attendees, for the request made at `stamp`."""
    return services.minutes_deliver(meeting_id=meeting_id, stamp=stamp)


@task()
def send_newsletter(newsletter_id: int) -> int:
    """Email a published issue to every subscriber not reached yet."""
    return services.newsletter_deliver(newsletter_id=newsletter_id)
