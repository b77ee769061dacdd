"""Template helpers of notify: the follow button's state and the bell's unread count."""

from django import template
from django.urls import reverse

from quarterdeck.backlog.models import Feature
from quarterdeck.notify import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def follow_state(context, target):
    """{following, count, kind, url, next} for the follow button of a feature or need."""
    request = context.get("request")
    kind = "feature" if isinstance(target, Feature) else "need"
    nxt = ""
    if request is not None:
        nxt = request.POST.get("next") if request.method == "POST" else request.get_full_path()
    return {
        "following": selectors.user_follows(getattr(request, "user", None), target),
        "count": selectors.follower_count(target),
        "kind": kind,
        "url": reverse(
            "notify:follow", kwargs={"ws": target.workspace.slug, "kind": kind, "pk": target.pk}
        ),
        "next": nxt or "",
    }


@register.simple_tag(takes_context=True)
def unread_notifications(context) -> int:
    request = context.get("request")
    if request is None:
        return 0
    return selectors.unread_count(request.user, getattr(request, "workspace", None))


@register.inclusion_tag("notify/_bell.html", takes_context=True)
def notification_bell(context):
    """The bell with the unread count: `{% load notify %}{% notification_bell %}`."""
    return {
        "request": context.get("request"),
        "workspace": context.get("workspace"),
        "unread": unread_notifications(context),
    }
