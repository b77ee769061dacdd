"""Presentation helpers for agendas (stored as JSON with ISO dates) and the timeline."""

import datetime as dt

from django import template
from django.utils.dateparse import parse_date, parse_datetime

from quarterdeck.backlog.models import Status

register = template.Library()


@register.filter
def isodate(value):
    """An ISO date or datetime string from a stored agenda as a date/datetime."""
    if not value or not isinstance(value, str):
        return value
    parsed = parse_datetime(value) if "T" in value else None
    return parsed or parse_date(value) or value


@register.filter
def status_label(value):
    try:
        return Status(value).label
    except ValueError:
        return value or ""


@register.filter
def share_of(count, total):
    """`count` as a percentage of `total` (for bar widths)."""
    try:
        return round(100 * float(count) / float(total)) if float(total) else 0
    except (TypeError, ValueError):
        return 0


@register.filter
def days_until(value):
    if isinstance(value, str):
        value = isodate(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        return ""
    return (value - dt.date.today()).days  # noqa: DTZ011 - a rough "in N days" hint
