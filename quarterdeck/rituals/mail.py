"""The rituals' emails: meeting minutes and the newsletter, each an HTML part with inline
styles and a plain-text part (templates `emails/rituals_<name>{_subject.txt,.txt,.html}`)."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from quarterdeck.backlog.models import Status
from quarterdeck.rituals import newsletter as newsletter_lib


def render(name: str, context: dict) -> tuple[str, str, str]:
    """(subject, text, html) of the email `emails/rituals_<name>`."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"emails/rituals_{name}_subject.txt", context)
        text = render_to_string(f"emails/rituals_{name}.txt", context)
        html = render_to_string(f"emails/rituals_{name}.html", context)
    return " ".join(subject.split()), text, html


def minutes_context(meeting) -> dict:
    decisions = []
    for decision in meeting.decisions.prefetch_related("features").order_by("created_at", "id"):
        decisions.append(
            {
                "text": decision.text,
                "features": [f.title for f in decision.features.all()],
                "move_to": Status(decision.move_to).label if decision.move_to else "",
                "reason": decision.reason,
            }
        )
    return {
        "meeting": meeting,
        "workspace": meeting.workspace,
        "decisions": decisions,
        "notes": meeting.notes,
        "notes_html": newsletter_lib.email_html(meeting.notes) if meeting.notes else "",
        "attendees": [u.display_name for u in meeting.attendee_users.all()]
        + [s.name for s in meeting.attendee_stakeholders.all()],
        "site_url": settings.SITE_URL,
    }


def send_minutes(meeting, recipients: list[tuple[str, str]]) -> int:
    context = minutes_context(meeting)
    subject, text, html = render("minutes", context)
    messages = []
    for _name, email in recipients:
        message = EmailMultiAlternatives(
            subject=subject,
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[email],
            headers={"Auto-Submitted": "auto-generated", "X-Quarterdeck-Notice": "minutes"},
        )
        message.attach_alternative(html, "text/html")
        messages.append(message)
    with get_connection(fail_silently=False) as connection:
        return connection.send_messages(messages) or 0


def unsubscribe_url(delivery) -> str:
    from quarterdeck.rituals.services import unsubscribe_token

    token = unsubscribe_token(
        workspace_id=delivery.newsletter.workspace_id,
        user_id=delivery.user_id,
        stakeholder_id=delivery.stakeholder_id,
    )
    return settings.SITE_URL + reverse("rituals_public:unsubscribe", kwargs={"token": token})


def send_newsletter(delivery) -> None:
    newsletter = delivery.newsletter
    unsubscribe = unsubscribe_url(delivery)
    name = (
        delivery.user.display_name
        if delivery.user_id
        else (delivery.stakeholder.name if delivery.stakeholder_id else "")
    )
    context = {
        "newsletter": newsletter,
        "workspace": newsletter.workspace,
        "name": name,
        "body_text": newsletter.body_markdown,
        "body_html": newsletter_lib.email_html(newsletter.body_markdown),
        "archive_url": settings.SITE_URL + newsletter.get_archive_url() if delivery.user_id else "",
        "unsubscribe_url": unsubscribe,
        "site_url": settings.SITE_URL,
    }
    subject, text, html = render("newsletter", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
            "X-Quarterdeck-Notice": f"newsletter:{newsletter.month_key}",
        },
    )
    message.attach_alternative(html, "text/html")
    message.send(fail_silently=False)
