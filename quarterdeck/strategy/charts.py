"""Server-side SVG charts: sparklines, a key result's history and the prioritization matrix.

Pure functions returning SVG markup. Every number is formatted here and every label goes through
`escape`, so the result can be marked safe; no JavaScript, no external resources.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _


def _n(value: float) -> str:
    """A coordinate with at most one decimal."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.0f}" if value == int(value) else f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{text}{(' ' + unit) if unit and unit != '%' else unit}"


def _span(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if low == high:
        pad = abs(low) * 0.1 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.08
    return low - pad, high + pad


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    ticks, value = [], first
    while value <= high + 1e-9 and len(ticks) < 12:
        ticks.append(round(value, 10))
        value += step
    return ticks


def sparkline(
    values: Sequence[float],
    *,
    baseline: float,
    target: float,
    label: str,
    width: int = 120,
    height: int = 32,
    color: str = "currentColor",
) -> SafeString:
    """A tiny line of check-in values against the target (dashed)."""
    if not values:
        return mark_safe(  # noqa: S308 - constant markup
            f'<svg class="spark spark-empty" width="{width}" height="{height}" role="img" '
            f'aria-label="{escape(_("No check-ins yet"))}"></svg>'
        )
    low, high = _span([*values, baseline, target])
    pad = 3

    def y(v: float) -> float:
        return pad + (height - 2 * pad) * (1 - (v - low) / (high - low))

    count = len(values)

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / (count - 1) if count > 1 else 0.5)

    points = " ".join(f"{_n(x(i))},{_n(y(v))}" for i, v in enumerate(values))
    last_x, last_y = x(count - 1), y(values[-1])
    return mark_safe(  # noqa: S308 - numbers and escaped text only
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
        f'<line x1="0" x2="{width}" y1="{_n(y(target))}" y2="{_n(y(target))}" '
        'class="spark-target"/>'
        f'<polyline points="{points}" fill="none" stroke="{escape(color)}" stroke-width="1.5" '
        f'stroke-linejoin="round" stroke-linecap="round"/>'
        f'<circle cx="{_n(last_x)}" cy="{_n(last_y)}" r="2.5" fill="{escape(color)}"/></svg>'
    )


@dataclass(frozen=True)
class Point:
    day: dt.date
    value: float
    note: str = ""


def history_chart(
    points: Sequence[Point],
    *,
    start: dt.date,
    end: dt.date,
    baseline: float,
    target: float,
    unit: str,
    label: str,
    today: dt.date | None = None,
    width: int = 960,
    height: int = 300,
) -> SafeString:
    """A key result over its quarter: check-ins, the target line and the planned straight line."""
    days = [p.day for p in points]
    first = min([start, *days])
    last = max([end, *days])
    total_days = max((last - first).days, 1)
    low, high = _span([*(p.value for p in points), baseline, target])
    left, right, top, bottom = 56, 16, 16, 32
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(day: dt.date) -> float:
        return left + plot_w * (day - first).days / total_days

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - low) / (high - low))

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(label)}</title>",
    ]
    for tick in _ticks(low, high):
        ty = _n(y(tick))
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{ty}" y2="{ty}"/>'
            f'<text class="axis" x="{left - 6}" y="{ty}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(fmt(tick))}</text>'
        )
    month = dt.date(first.year, first.month, 1)
    while month <= last:
        if month >= first:
            mx = _n(x(month))
            parts.append(
                f'<line class="grid" x1="{mx}" x2="{mx}" y1="{top}" y2="{top + plot_h}"/>'
                f'<text class="axis" x="{mx}" y="{height - 10}" text-anchor="middle">'
                f"{escape(month.strftime('%b %Y'))}</text>"
            )
        month = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    ty = _n(y(target))
    parts.append(
        f'<line class="target" x1="{left}" x2="{width - right}" y1="{ty}" y2="{ty}"/>'
        f'<text class="target-label" x="{width - right - 4}" y="{_n(y(target) - 6)}" '
        f'text-anchor="end">{escape(_("Target"))} {escape(fmt(target, unit))}</text>'
    )
    parts.append(
        f'<line class="plan" x1="{_n(x(start))}" y1="{_n(y(baseline))}" x2="{_n(x(end))}" '
        f'y2="{ty}"><title>{escape(_("Plan: a straight line from baseline to target"))}</title>'
        "</line>"
    )
    if today is not None and first <= today <= last:
        tx = _n(x(today))
        parts.append(
            f'<line class="today" x1="{tx}" x2="{tx}" y1="{top}" y2="{top + plot_h}"/>'
            f'<text class="axis" x="{tx}" y="{top + 10}" text-anchor="middle">'
            f"{escape(_('today'))}</text>"
        )
    if points:
        line = " ".join(f"{_n(x(p.day))},{_n(y(p.value))}" for p in points)
        parts.append(f'<polyline class="actual" points="{line}"/>')
        for p in points:
            tip = f"{p.day.isoformat()}: {fmt(p.value, unit)}" + (f" — {p.note}" if p.note else "")
            parts.append(
                f'<circle class="dot" cx="{_n(x(p.day))}" cy="{_n(y(p.value))}" r="4">'
                f"<title>{escape(tip)}</title></circle>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - numbers and escaped text only


@dataclass(frozen=True)
class Bubble:
    effort: float
    value: float
    demand: float
    color: str
    url: str
    title: str
    detail: str = ""


QUADRANTS = ("quick_wins", "big_bets", "fill_ins", "money_pits")


def matrix_chart(
    bubbles: Sequence[Bubble],
    *,
    value_split: float,
    effort_split: float,
    width: int = 760,
    height: int = 480,
) -> SafeString:
    """Value (up) against effort (right); bubble area follows demand; each bubble is a link."""
    left, right, top, bottom = 56, 16, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    max_effort = max([b.effort for b in bubbles] + [effort_split * 2, 1.0]) * 1.05
    max_value = max([b.value for b in bubbles] + [value_split * 2, 1.0]) * 1.08
    max_demand = max([b.demand for b in bubbles] + [0.0])

    def x(effort: float) -> float:
        return left + plot_w * effort / max_effort

    def y(value: float) -> float:
        return top + plot_h * (1 - max(value, 0.0) / max_value)

    sx, sy = _n(x(effort_split)), _n(y(value_split))
    label = _("Prioritization matrix: value against effort")
    parts = [
        f'<svg class="chart matrix" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}">',
        f"<title>{escape(label)}</title>",
        f'<rect class="quadrant q-quick" x="{left}" y="{top}" width="{_n(x(effort_split) - left)}" '
        f'height="{_n(y(value_split) - top)}"/>',
        f'<rect class="quadrant q-pits" x="{sx}" y="{sy}" '
        f'width="{_n(left + plot_w - x(effort_split))}" '
        f'height="{_n(top + plot_h - y(value_split))}"/>',
        f'<line class="split" x1="{sx}" x2="{sx}" y1="{top}" y2="{top + plot_h}"/>',
        f'<line class="split" x1="{left}" x2="{left + plot_w}" y1="{sy}" y2="{sy}"/>',
        f'<line class="axisline" x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" '
        f'y2="{top + plot_h}"/>',
        f'<line class="axisline" x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}"/>',
    ]
    for text, qx, qy, anchor in (
        (_("Quick wins"), left + 8, top + 18, "start"),
        (_("Big bets"), left + plot_w - 8, top + 18, "end"),
        (_("Fill-ins"), left + 8, top + plot_h - 8, "start"),
        (_("Money pits"), left + plot_w - 8, top + plot_h - 8, "end"),
    ):
        parts.append(
            f'<text class="quadrant-label" x="{qx}" y="{qy}" text-anchor="{anchor}">'
            f"{escape(text)}</text>"
        )
    for tick in _ticks(0, max_effort, 5):
        tx = _n(x(tick))
        parts.append(
            f'<text class="axis" x="{tx}" y="{top + plot_h + 16}" text-anchor="middle">'
            f"{escape(fmt(tick))}</text>"
        )
    for tick in _ticks(0, max_value, 4):
        parts.append(
            f'<text class="axis" x="{left - 6}" y="{_n(y(tick))}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(fmt(tick))}</text>'
        )
    parts.append(
        f'<text class="axis-title" x="{left + plot_w / 2:.0f}" y="{height - 4}" '
        f'text-anchor="middle">{escape(_("Effort (person-weeks, risk-adjusted)"))}</text>'
        f'<text class="axis-title" x="12" y="{top + plot_h / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + plot_h / 2:.0f})">{escape(_("Value"))}</text>'
    )
    # Big bubbles first so that small ones stay clickable on top.
    for b in sorted(bubbles, key=lambda b: -b.demand):
        radius = 5 + (13 * math.sqrt(b.demand / max_demand) if max_demand > 0 else 0)
        tip = b.title + (f" — {b.detail}" if b.detail else "")
        parts.append(
            f'<a href="{escape(b.url)}" class="bubble"><circle cx="{_n(x(b.effort))}" '
            f'cy="{_n(y(b.value))}" r="{_n(radius)}" fill="{escape(b.color)}">'
            f"<title>{escape(tip)}</title></circle></a>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - numbers and escaped text only
