"""Drafting the monthly product newsletter from the workspace's data.

`generate(workspace, month)` returns an `Issue`; `Issue.markdown()` is the draft the product
manager edits. The sections, as Markdown `##` headings, always in this order:

**Shipped** — features whose status became `shipped` during the month (an Activity
"status_changed" to shipped dated in the month), plus features whose status is `shipped` with
`status_changed_at` in the month. Whatever their status is today.

The next five sections describe the backlog as it stands when the draft is generated ("now"):

- **Deploying soon** — status `ready_to_deploy` or `rolling_out`.
- **In engineering** — status `in_engineering` or `in_qa`.
- **In design** — status `designing`.
- **Being studied** — status `studying`.
- **Under consideration** — status `under_consideration`.

Features that are `new`, `declined` or `parked` are not in the newsletter. A feature appears in
at most one of these five sections (its current status), and a feature shipped in the month
that has since moved on is listed under Shipped only.

**Results** — for each feature shipped in the month (above) or measured in the month (its status
became `measured` in the month, or strategy recorded a `FeatureMeasurement` of it in the month):
each key result it aims at, with the value before shipping, the value after, and the target.
Measured values come from strategy's `FeatureMeasurement` when one exists; otherwise from the key
result's check-ins: *before* is the last check-in on or before the ship day, *after* the last
check-in after it up to the day the draft is generated (the latest value known).
Features without a key result are left out of Results.

**Next iterations** — open slices (children) of the features shipped or measured in the month;
features that went back a step during the month (an Activity "status_changed" to an earlier
status of the flow, e.g. in QA → designing); and features whose UX test in the month ended with
the verdict "iterate". Each feature once, with the reason.

Within a section features are listed best score first, then by title.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field

import markdown as markdown_lib
import nh3
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from quarterdeck.backlog.models import OPEN_STATUSES, Feature, Status, UxTest, Verdict
from quarterdeck.backlog.status import FLOW
from quarterdeck.core.models import Activity

NOW_SECTIONS = [
    ("deploying", (Status.READY_TO_DEPLOY, Status.ROLLING_OUT)),
    ("engineering", (Status.IN_ENGINEERING, Status.IN_QA)),
    ("design", (Status.DESIGNING,)),
    ("studied", (Status.STUDYING,)),
    ("consideration", (Status.UNDER_CONSIDERATION,)),
]
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def section_titles() -> dict[str, str]:
    return {
        "shipped": _("Shipped"),
        "deploying": _("Deploying soon"),
        "engineering": _("In engineering"),
        "design": _("In design"),
        "studied": _("Being studied"),
        "consideration": _("Under consideration"),
        "results": _("Results"),
        "next": _("Next iterations"),
    }


SECTION_ORDER = [
    "shipped",
    "deploying",
    "engineering",
    "design",
    "studied",
    "consideration",
    "results",
    "next",
]


def parse_month(value: str) -> dt.date:
    """`YYYY-MM` → the first day of that month; ValueError naming the problem otherwise."""
    match = MONTH_RE.match((value or "").strip())
    if not match:
        raise ValueError(_("Write the month as YYYY-MM, e.g. 2026-03."))
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or year < 2000:
        raise ValueError(_("No such month: %(m)s.") % {"m": value})
    return dt.date(year, month, 1)


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Aware datetimes [start, end) of the month in the current time zone."""
    start = dt.datetime.combine(month.replace(day=1), dt.time.min)
    last = calendar.monthrange(month.year, month.month)[1]
    end = dt.datetime.combine(month.replace(day=last), dt.time.min) + dt.timedelta(days=1)
    return timezone.make_aware(start), timezone.make_aware(end)


def previous_month(today: dt.date) -> dt.date:
    first = today.replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


def month_label(month: dt.date) -> str:
    return date_format(month, "F Y")


@dataclass
class KeyResultLine:
    metric: str
    unit: str
    direction: str
    baseline: float
    target: float
    before: float | None
    after: float | None
    before_on: dt.date | None = None
    after_on: dt.date | None = None
    source: str = "check-ins"

    @property
    def progress(self) -> float | None:
        from quarterdeck.strategy.models import progress_of

        return progress_of(
            self.after, baseline=self.baseline, target=self.target, direction=self.direction
        )

    @property
    def met(self) -> bool | None:
        progress = self.progress
        return None if progress is None else progress >= 1.0


@dataclass
class Result:
    feature: Feature
    shipped_on: dt.date | None
    lines: list[KeyResultLine] = field(default_factory=list)


@dataclass
class Iteration:
    feature: Feature
    reason: str


@dataclass
class Issue:
    workspace: object
    month: dt.date
    sections: dict[str, list[Feature]]
    shipped_on: dict[int, dt.date]
    results: list[Result]
    iterations: list[Iteration]
    generated_at: dt.datetime

    @property
    def title(self) -> str:
        return _("%(name)s product newsletter — %(month)s") % {
            "name": self.workspace.name,
            "month": month_label(self.month),
        }

    def markdown(self) -> str:
        return render_markdown(self)


# --- membership ------------------------------------------------------------------------------


def _lower_first(label) -> str:
    """ "In QA" → "in QA" (inside a sentence)."""
    label = str(label)
    return label[:1].lower() + label[1:]


def _ranked(features) -> list[Feature]:
    return sorted(features, key=lambda f: (f.score is None, -(f.score or 0), f.title.lower()))


def _became(workspace, status: str, start, end) -> dict[int, dt.datetime]:
    """{feature id: last moment it moved to `status`} for moves dated in [start, end)."""
    moments: dict[int, dt.datetime] = {}
    rows = Activity.objects.filter(
        workspace=workspace,
        verb="status_changed",
        target_type="feature",
        created_at__gte=start,
        created_at__lt=end,
    ).order_by("created_at", "id")
    for row in rows:
        change = (row.changes or {}).get("status") or [None, None]
        if len(change) == 2 and change[1] == status:
            moments[row.target_id] = row.created_at
    return moments


def _went_back(workspace, start, end) -> dict[int, tuple[str, str]]:
    backs: dict[int, tuple[str, str]] = {}
    rows = Activity.objects.filter(
        workspace=workspace,
        verb="status_changed",
        target_type="feature",
        created_at__gte=start,
        created_at__lt=end,
    ).order_by("created_at", "id")
    for row in rows:
        change = (row.changes or {}).get("status") or [None, None]
        if len(change) != 2:
            continue
        old, new = change
        if old in FLOW and new in FLOW and FLOW.index(new) < FLOW.index(old):
            backs[row.target_id] = (old, new)
    return backs


def _features(workspace):
    return Feature.objects.filter(workspace=workspace).select_related("squad", "parent")


def shipped_in(workspace, month: dt.date) -> dict[int, dt.date]:
    """{feature id: ship day} of the features shipped during `month` (see the module doc)."""
    start, end = month_bounds(month)
    shipped = {
        pk: timezone.localdate(moment)
        for pk, moment in _became(workspace, Status.SHIPPED, start, end).items()
    }
    for pk, changed in Feature.objects.filter(
        workspace=workspace,
        status=Status.SHIPPED,
        status_changed_at__gte=start,
        status_changed_at__lt=end,
    ).values_list("pk", "status_changed_at"):
        shipped.setdefault(pk, timezone.localdate(changed))
    return shipped


def _ship_day(feature: Feature) -> dt.date | None:
    """The last day `feature` moved to shipped (Activity), else its status change day."""
    row = (
        Activity.objects.filter(
            workspace_id=feature.workspace_id,
            verb="status_changed",
            target_type="feature",
            target_id=feature.pk,
            changes__status__1=Status.SHIPPED,
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if row is not None:
        return timezone.localdate(row.created_at)
    if feature.status_changed_at and feature.status in (Status.SHIPPED, Status.MEASURED):
        return timezone.localdate(feature.status_changed_at)
    return None


def _measurements(feature: Feature) -> list:
    try:
        from quarterdeck.strategy.selectors import measurement_for
    except ImportError:
        return []
    return list(measurement_for(feature))


def _measured_in(workspace, start, end) -> set[int]:
    ids = set(_became(workspace, Status.MEASURED, start, end))
    try:
        from quarterdeck.strategy.models import FeatureMeasurement
    except ImportError:
        return ids
    ids |= set(
        FeatureMeasurement.objects.filter(
            workspace=workspace, measured_at__gte=start, measured_at__lt=end
        ).values_list("feature_id", flat=True)
    )
    return ids


def result_for(feature: Feature, shipped_on: dt.date | None, cutoff: dt.date) -> Result:
    """Before/after of each key result `feature` aims at (see the module doc)."""
    result = Result(feature=feature, shipped_on=shipped_on)
    measured = {}
    for m in _measurements(feature):
        # newest complete measurement per key result wins
        if m.key_result_id not in measured and m.after is not None:
            measured[m.key_result_id] = m
    for kr in feature.key_results.all():
        m = measured.get(kr.pk)
        if m is not None:
            line = KeyResultLine(
                metric=kr.metric,
                unit=kr.unit,
                direction=kr.direction,
                baseline=kr.baseline,
                target=kr.target,
                before=m.before,
                after=m.after,
                before_on=m.before_on,
                after_on=m.after_on,
                source="measurement",
            )
        else:
            check_ins = sorted(kr.check_ins.all(), key=lambda c: (c.checked_on, c.id))
            before = after = None
            if shipped_on is not None:
                before = next((c for c in reversed(check_ins) if c.checked_on <= shipped_on), None)
                after = next(
                    (c for c in reversed(check_ins) if shipped_on < c.checked_on <= cutoff),
                    None,
                )
            line = KeyResultLine(
                metric=kr.metric,
                unit=kr.unit,
                direction=kr.direction,
                baseline=kr.baseline,
                target=kr.target,
                before=before.value if before else None,
                after=after.value if after else None,
                before_on=before.checked_on if before else None,
                after_on=after.checked_on if after else None,
            )
        result.lines.append(line)
    return result


def generate(workspace, month: dt.date, *, now: dt.datetime | None = None) -> Issue:
    from django.db.models import Prefetch

    from quarterdeck.strategy.models import CheckIn, KeyResult

    now = now or timezone.now()
    month = month.replace(day=1)
    start, end = month_bounds(month)
    today = timezone.localdate(now)
    cutoff = today

    shipped_on = shipped_in(workspace, month)
    shipped = _ranked(_features(workspace).filter(pk__in=list(shipped_on)))
    sections: dict[str, list[Feature]] = {"shipped": shipped}
    for key, statuses in NOW_SECTIONS:
        sections[key] = _ranked(
            _features(workspace).filter(status__in=statuses).exclude(pk__in=list(shipped_on))
        )

    result_ids = set(shipped_on) | _measured_in(workspace, start, end)
    krs = Prefetch(
        "key_results",
        KeyResult.objects.prefetch_related(
            Prefetch("check_ins", CheckIn.objects.order_by("checked_on", "id"))
        ).order_by("id"),
    )
    results = []
    for feature in _ranked(
        _features(workspace).filter(pk__in=list(result_ids)).prefetch_related(krs)
    ):
        day = shipped_on.get(feature.pk) or _ship_day(feature)
        result = result_for(feature, day, cutoff)
        if result.lines:
            results.append(result)

    iterations: list[Iteration] = []
    seen: set[int] = set()

    def add(feature: Feature, reason: str) -> None:
        if feature.pk not in seen:
            seen.add(feature.pk)
            iterations.append(Iteration(feature=feature, reason=reason))

    parents = {f.pk: f for f in _features(workspace).filter(pk__in=list(result_ids))}
    for child in _ranked(
        _features(workspace).filter(parent_id__in=list(parents), status__in=OPEN_STATUSES)
    ):
        add(
            child,
            _("next slice of “%(parent)s”, %(status)s")
            % {"parent": child.parent.title, "status": _lower_first(child.get_status_display())},
        )
    backs = _went_back(workspace, start, end)
    for feature in _ranked(_features(workspace).filter(pk__in=list(backs))):
        old, new = backs[feature.pk]
        add(
            feature,
            _("went back from %(old)s to %(new)s")
            % {"old": _lower_first(Status(old).label), "new": _lower_first(Status(new).label)},
        )
    ux = (
        UxTest.objects.filter(
            feature__workspace=workspace,
            verdict=Verdict.ITERATE,
            tested_on__gte=month,
            tested_on__lt=end.date(),
        )
        .select_related("feature__squad", "feature__parent")
        .order_by("tested_on", "id")
    )
    for test in ux:
        add(
            test.feature,
            _("UX test round %(n)d asked for another iteration") % {"n": test.round},
        )

    return Issue(
        workspace=workspace,
        month=month,
        sections=sections,
        shipped_on=shipped_on,
        results=results,
        iterations=iterations,
        generated_at=now,
    )


# --- Markdown ---------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", " ".join((text or "").split()))


def fmt_number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if not unit:
        return text
    return f"{text} {unit}" if unit not in ("%",) else f"{text} %"


def _feature_line(feature: Feature, extra: str = "") -> str:
    parts = [f"**{md_escape(feature.title)}**"]
    meta = []
    if feature.squad_id:
        meta.append(md_escape(feature.squad.name))
    if extra:
        meta.append(extra)
    if meta:
        parts.append(" — " + " · ".join(meta))
    return "- " + "".join(parts)


def _kr_line(line: KeyResultLine) -> str:
    metric = md_escape(line.metric)
    if line.before is None and line.after is None:
        return "    - " + _("%(metric)s: no check-in around the ship day yet (target %(t)s)") % {
            "metric": metric,
            "t": fmt_number(line.target, line.unit),
        }
    text = _("%(metric)s: %(before)s before → %(after)s after, target %(target)s") % {
        "metric": metric,
        "before": fmt_number(line.before, line.unit),
        "after": fmt_number(line.after, line.unit) if line.after is not None else _("not yet"),
        "target": fmt_number(line.target, line.unit),
    }
    progress = line.progress
    if progress is not None:
        if progress >= 1.0:
            text += " — " + _("target reached")
        else:
            text += " — " + _("%(p)d %% of the way from baseline") % {"p": round(progress * 100)}
    return "    - " + text


def render_markdown(issue: Issue) -> str:
    titles = section_titles()
    nothing = "_" + _("Nothing this month.") + "_"
    out = [f"# {md_escape(issue.title)}", ""]
    intro = _(
        "What the product teams shipped in %(month)s, what is coming next, and the results "
        "we measured."
    ) % {"month": month_label(issue.month)}
    out += [intro, ""]
    for key in SECTION_ORDER:
        out += [f"## {titles[key]}", ""]
        if key == "results":
            if not issue.results:
                out += ["_" + _("No measured results this month.") + "_", ""]
            for result in issue.results:
                when = (
                    _("shipped %(d)s") % {"d": date_format(result.shipped_on, "j M Y")}
                    if result.shipped_on
                    else ""
                )
                out.append(_feature_line(result.feature, when))
                out += [_kr_line(line) for line in result.lines]
            if issue.results:
                out.append("")
        elif key == "next":
            if not issue.iterations:
                out += [nothing, ""]
            for item in issue.iterations:
                out.append(_feature_line(item.feature, md_escape(item.reason)))
            if issue.iterations:
                out.append("")
        else:
            features = issue.sections.get(key, [])
            if not features:
                out += [nothing, ""]
                continue
            for feature in features:
                extra = ""
                if key == "shipped" and issue.shipped_on.get(feature.pk):
                    extra = _("shipped %(d)s") % {
                        "d": date_format(issue.shipped_on[feature.pk], "j M Y")
                    }
                elif feature.target_release:
                    extra = _("target %(d)s") % {"d": date_format(feature.target_release, "M Y")}
                out.append(_feature_line(feature, extra))
            out.append("")
    return "\n".join(out).rstrip() + "\n"


# --- HTML -------------------------------------------------------------------------------------

ALLOWED_TAGS = {
    "h1", "h2", "h3", "h4", "p", "ul", "ol", "li", "strong", "em", "a", "code", "pre",
    "blockquote", "hr", "br", "table", "thead", "tbody", "tr", "th", "td", "del",
}  # fmt: skip


def markdown_to_html(text: str) -> str:
    """Markdown rendered and sanitised (nh3): safe to show, whoever wrote it."""
    html = markdown_lib.markdown(text or "", extensions=["extra", "sane_lists"])
    return mark_safe(
        nh3.clean(
            html,
            tags=ALLOWED_TAGS,
            attributes={"a": {"href", "title"}, "th": {"align"}, "td": {"align"}},
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer",
        )
    )


EMAIL_STYLES = {
    "h1": "font-size:22px;line-height:1.3;margin:0 0 12px;color:#1d1f24;",
    "h2": "font-size:17px;line-height:1.3;margin:24px 0 8px;color:#312e81;"
    "border-bottom:1px solid #e3e4e8;padding-bottom:4px;",
    "h3": "font-size:15px;margin:16px 0 6px;color:#1d1f24;",
    "p": "margin:0 0 12px;",
    "ul": "margin:0 0 12px;padding-left:20px;",
    "ol": "margin:0 0 12px;padding-left:20px;",
    "li": "margin:0 0 6px;",
    "a": "color:#4338ca;",
    "blockquote": "margin:0 0 12px;padding:8px 12px;border-left:3px solid #4f46e5;"
    "background:#f5f5ff;",
    "code": "font-family:Menlo,Consolas,monospace;font-size:13px;",
    "table": "border-collapse:collapse;margin:0 0 12px;",
    "th": "border:1px solid #e3e4e8;padding:4px 8px;text-align:left;",
    "td": "border:1px solid #e3e4e8;padding:4px 8px;",
}
_TAG_RE = re.compile(r"<(" + "|".join(EMAIL_STYLES) + r")(?=[\s>])")


def email_html(text: str) -> str:
    """Sanitised HTML of `text` with inline styles, for mail clients that ignore <style>."""
    html = _TAG_RE.sub(
        lambda m: f'<{m.group(1)} style="{EMAIL_STYLES[m.group(1)]}"', markdown_to_html(text)
    )
    return mark_safe(html)  # sanitised by nh3 above; only fixed style attributes were added
