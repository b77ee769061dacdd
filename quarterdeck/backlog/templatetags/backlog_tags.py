"""Presentation helpers of the backlog pages."""

from django import template
from django.urls import NoReverseMatch
from django.utils.html import format_html
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def url_of(obj) -> str:
    """`obj.get_absolute_url()`, or "" while the page it points to is not installed."""
    try:
        return obj.get_absolute_url()
    except (NoReverseMatch, AttributeError):
        return ""


@register.simple_tag
def contribution(value):
    """A 0–3 driver contribution as three dots, with a text equivalent."""
    value = int(value or 0)
    dots = "●" * value + "○" * (3 - value)
    return format_html(
        '<span class="dots" title="{}" aria-label="{}">{}</span>',
        _("contribution %(n)d of 3") % {"n": value},
        _("contribution %(n)d of 3") % {"n": value},
        dots,
    )


@register.simple_tag
def sort_header(label, key, current, base_qs):
    """A sortable column header: clicking toggles ascending/descending."""
    if current == key:
        target, arrow, state = f"-{key}", "↑", _("sorted ascending")
    elif current == f"-{key}":
        target, arrow, state = key, "↓", _("sorted descending")
    else:
        target, arrow, state = (f"-{key}" if key in {"score", "demand", "effort"} else key), "", ""
    qs = f"{base_qs}&ordering={target}" if base_qs else f"ordering={target}"
    return format_html(
        '<a href="?{}" class="sort">{} <span aria-hidden="true">{}</span>'
        '<span class="sr-only">{}</span></a>',
        qs,
        label,
        arrow,
        state,
    )


@register.filter
def weeks(value):
    if value is None:
        return "—"
    value = float(value)
    text = f"{int(value)}" if value == int(value) else f"{value:.1f}"
    return _("%(n)s pw") % {"n": text}
