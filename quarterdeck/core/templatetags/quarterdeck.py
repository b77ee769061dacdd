"""Small presentation helpers shared by every page."""

from django import template
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

register = template.Library()

# Symbols every common system font has (no emoji font needed).
SOURCE_ICONS = {
    "interview": "❝",
    "support": "⚑",
    "survey": "☰",
    "app_review": "★",
    "sales_call": "☎",
    "analytics": "↗",
    "in_app": "▣",
    "email": "✉",
    "chat": "⌨",
    "import": "⇪",
    "api": "⚙",
    "manual": "✎",
}


@register.simple_tag
def status_pill(obj):
    """A feature's status (or a status value) as its fixed-colour pill."""
    from quarterdeck.backlog.models import Status

    value = getattr(obj, "status", obj)
    try:
        label = Status(value).label
    except ValueError:
        label = value
    return format_html('<span class="pill pill-status-{}">{}</span>', value, label)


@register.simple_tag
def segment_chip(segment):
    if segment is None:
        return ""
    return format_html(
        '<span class="chip chip-dot" style="--dot: {}">{}</span>', segment.color, segment.name
    )


@register.simple_tag
def source_icon(insight):
    icon = SOURCE_ICONS.get(insight.channel, "•")
    return format_html(
        '<span class="source-icon" title="{}" aria-label="{}">{}</span>',
        insight.get_channel_display(),
        insight.get_channel_display(),
        icon,
    )


@register.filter
def age(value):
    if not value:
        return ""
    return _("%(t)s ago") % {"t": timesince(value).split(",")[0]}


@register.filter
def percent(value, digits=0):
    if value is None:
        return "—"
    return f"{float(value) * 100:.{int(digits)}f} %"


@register.filter
def number(value, digits=1):
    if value is None:
        return "—"
    value = float(value)
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.{int(digits)}f}"
