"""Rendering and sending the update emails, and the signed links that unsubscribe without login.

Every email is three templates in `templates/emails/`: `<name>_subject.txt`, `<name>.txt` and
`<name>.html` (inline styles only). Each carries a one-click unsubscribe link and the
`List-Unsubscribe` / `List-Unsubscribe-Post` headers (RFC 8058).
"""

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from quarterdeck.notify.models import EventKind, Notification

SALT = "quarterdeck.notify.unsubscribe"


def unsubscribe_token(
    *,
    workspace_id: int,
    user_id: int | None = None,
    stakeholder_id: int | None = None,
    feature_id: int | None = None,
) -> str:
    """A signed, non-expiring token naming one recipient and (optionally) the feature."""
    data: dict[str, int] = {"w": workspace_id}
    if user_id is not None:
        data["u"] = user_id
    else:
        data["s"] = stakeholder_id  # type: ignore[assignment]
    if feature_id is not None:
        data["f"] = feature_id
    return signing.dumps(data, salt=SALT, compress=True)


def read_unsubscribe_token(token: str) -> dict | None:
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or "w" not in data or not ({"u", "s"} & set(data)):
        return None
    return data


def unsubscribe_url(notification: Notification) -> str:
    token = unsubscribe_token(
        workspace_id=notification.workspace_id,
        user_id=notification.user_id,
        stakeholder_id=notification.stakeholder_id,
        feature_id=notification.feature_id,
    )
    return settings.SITE_URL + reverse("notify_public:unsubscribe", kwargs={"token": token})


def digest_unsubscribe_url(*, workspace_id: int, user_id: int) -> str:
    token = unsubscribe_token(workspace_id=workspace_id, user_id=user_id)
    return settings.SITE_URL + reverse("notify_public:unsubscribe", kwargs={"token": token})


def render(name: str, context: dict) -> tuple[str, str, str]:
    """(subject, text, html) of the email `name`."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"emails/{name}_subject.txt", context)
        text = render_to_string(f"emails/{name}.txt", context)
        html = render_to_string(f"emails/{name}.html", context)
    return " ".join(subject.split()), text, html


def _send(*, to: str, subject: str, text: str, html: str, unsubscribe: str, tag: str) -> None:
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
            "X-Quarterdeck-Notice": tag,
        },
    )
    message.attach_alternative(html, "text/html")
    message.send(fail_silently=False)


def feature_update_context(notification: Notification) -> dict:
    event = notification.event
    feature = notification.feature
    workspace = notification.workspace
    is_member = notification.user_id is not None
    return {
        "name": (notification.user.display_name if is_member else notification.stakeholder.name),
        "is_member": is_member,
        "kind": notification.kind,
        "kind_label": EventKind(notification.kind).label,
        "feature": feature,
        "workspace": workspace,
        "reason": event.reason,
        "because": notification.reason,
        "feature_url": settings.SITE_URL + feature.get_absolute_url() if is_member else "",
        "inbox_url": (
            settings.SITE_URL + reverse("notify:inbox", kwargs={"ws": workspace.slug})
            if is_member
            else ""
        ),
        "unsubscribe_url": unsubscribe_url(notification),
        "site_url": settings.SITE_URL,
    }


def send_feature_update(notification: Notification) -> None:
    """Email one notice now; raises on any sending failure (the caller retries)."""
    context = feature_update_context(notification)
    subject, text, html = render("feature_update", context)
    _send(
        to=notification.email,
        subject=subject,
        text=text,
        html=html,
        unsubscribe=context["unsubscribe_url"],
        tag=f"{notification.kind}:{notification.feature_id}",
    )


def send_digest(*, user, workspace, notifications: list[Notification]) -> None:
    """One email with every pending notice of `user` in `workspace`."""
    unsubscribe = digest_unsubscribe_url(workspace_id=workspace.pk, user_id=user.pk)
    context = {
        "name": user.display_name,
        "workspace": workspace,
        "items": [
            {
                "notification": n,
                "feature": n.feature,
                "kind": n.kind,
                "kind_label": EventKind(n.kind).label,
                "reason": n.event.reason,
                "url": settings.SITE_URL + n.feature.get_absolute_url(),
            }
            for n in notifications
        ],
        "count": len(notifications),
        "inbox_url": settings.SITE_URL + reverse("notify:inbox", kwargs={"ws": workspace.slug}),
        "unsubscribe_url": unsubscribe,
        "site_url": settings.SITE_URL,
    }
    subject, text, html = render("digest", context)
    _send(
        to=user.email,
        subject=subject,
        text=text,
        html=html,
        unsubscribe=unsubscribe,
        tag="digest",
    )
