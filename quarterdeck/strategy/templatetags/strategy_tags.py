"""Presentation helpers of the OKR and prioritization pages: charts, colours, score breakdowns."""

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from quarterdeck.strategy import charts
from quarterdeck.strategy.selectors import risk_reasons

register = template.Library()

CONFIDENT, UNSURE = 0.7, 0.5


def _check_ins(kr):
    return sorted(kr.check_ins.all(), key=lambda c: (c.checked_on, c.id))


@register.filter
def confidence_class(value):
    """green at 0.7 and above, amber from 0.5, red below; grey without a value."""
    if value is None:
        return "conf-none"
    if value >= CONFIDENT:
        return "conf-ok"
    if value >= UNSURE:
        return "conf-warn"
    return "conf-bad"


@register.filter
def last_confidence(kr):
    check_ins = _check_ins(kr)
    return check_ins[-1].confidence if check_ins else None


@register.simple_tag
def kr_risk(kr):
    """Why the key result is at risk (an empty list when it is on track)."""
    return risk_reasons(kr, _check_ins(kr))


@register.simple_tag
def kr_sparkline(kr):
    values = [c.value for c in _check_ins(kr)]
    label = _("%(metric)s: %(n)s check-ins, target %(target)s") % {
        "metric": kr.metric,
        "n": len(values),
        "target": charts.fmt(kr.target, kr.unit),
    }
    return charts.sparkline(values, baseline=kr.baseline, target=kr.target, label=label)


@register.simple_tag
def kr_chart(kr):
    start, end = kr.quarter_bounds
    points = [charts.Point(c.checked_on, c.value, c.comment[:80]) for c in _check_ins(kr)]
    label = _("%(metric)s over %(quarter)s: baseline %(b)s, target %(t)s") % {
        "metric": kr.metric,
        "quarter": kr.objective.quarter,
        "b": charts.fmt(kr.baseline, kr.unit),
        "t": charts.fmt(kr.target, kr.unit),
    }
    return charts.history_chart(
        points,
        start=start,
        end=end,
        baseline=kr.baseline,
        target=kr.target,
        unit=kr.unit,
        label=label,
        today=timezone.localdate(),
    )


@register.filter
def measure(value, unit=""):
    return charts.fmt(value, unit)


@register.filter
def as_percent(value):
    if value is None:
        return "—"
    return f"{value:.0%}"


@register.filter
def bar_width(value):
    """A 0–1 share as a CSS width percentage."""
    if value is None:
        return "0"
    return f"{max(0.0, min(1.0, float(value))) * 100:.0f}"


@register.simple_tag
def feature_url(feature):
    """The feature page, or its score page while the backlog has no feature page."""
    try:
        return feature.get_absolute_url()
    except NoReverseMatch:
        return reverse(
            "strategy:feature_score", kwargs={"ws": feature.workspace.slug, "pk": feature.pk}
        )


@register.filter
def progress_at(kr, value):
    return kr.progress_at(value)


@register.simple_tag
def score_breakdown(feature):
    """The feature's score with its terms (a few queries; for one feature's page)."""
    from quarterdeck.strategy.ranking import feature_breakdown

    return feature_breakdown(feature)


@register.simple_tag
def feature_measurements(feature):
    from quarterdeck.strategy.selectors import measurement_for

    return measurement_for(feature)


@register.filter
def term_label(name):
    from quarterdeck.strategy.ranking import TERM_LABELS

    return TERM_LABELS.get(name, name)


@register.filter
def input_value(value):
    """A term input for display: numbers rounded, missing shown as missing."""
    if value is None:
        return _("missing")
    if isinstance(value, float):
        return charts.fmt(round(value, 2))
    return value


@register.filter
def get_weight(weights, pk):
    """A previewed weight for driver `pk`, or "" when none was posted."""
    value = (weights or {}).get(pk)
    return "" if value is None else f"{value:g}"
