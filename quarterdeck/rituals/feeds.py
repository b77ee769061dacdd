"""The calendar (iCalendar) and newsletter (Atom) feeds, written without any network access."""

from __future__ import annotations

import datetime as dt

import icalendar
from django.conf import settings
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from quarterdeck.rituals import newsletter as newsletter_lib


def _uid(kind: str, pk: int, workspace) -> str:
    host = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0] or "quarterdeck"
    return f"{kind}-{pk}-{workspace.pk}@{host}"


def calendar_ics(workspace, items: dict, *, name: str) -> bytes:
    """An iCalendar of target releases, rollout stages (all-day) and meetings (timed)."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Quarterdeck//Roadmap calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    stamp = timezone.now()
    for feature in items["releases"]:
        event = icalendar.Event()
        event.add("uid", _uid("release", feature.pk, workspace))
        event.add("dtstamp", stamp)
        event.add("summary", _("Release: %(t)s") % {"t": feature.title})
        event.add("dtstart", feature.target_release)
        event.add("dtend", feature.target_release + dt.timedelta(days=1))
        event.add("transp", "TRANSPARENT")
        details = [str(feature.get_status_display())]
        if feature.squad_id:
            details.append(feature.squad.name)
        event.add("description", " · ".join(details))
        event.add("categories", ["release"])
        cal.add_component(event)
    for stage in items["stages"]:
        event = icalendar.Event()
        event.add("uid", _uid("rollout", stage.pk, workspace))
        event.add("dtstamp", stamp)
        event.add(
            "summary",
            _("Rollout: %(t)s to %(a)s") % {"t": stage.feature.title, "a": stage.audience_label},
        )
        event.add("dtstart", stage.starts_on)
        event.add("dtend", stage.starts_on + dt.timedelta(days=1))
        event.add("transp", "TRANSPARENT")
        event.add(
            "description",
            _("Stage %(n)d, %(s)s") % {"n": stage.order, "s": stage.get_state_display().lower()},
        )
        event.add("categories", ["rollout"])
        cal.add_component(event)
    for meeting in items["meetings"]:
        event = icalendar.Event()
        event.add("uid", _uid("meeting", meeting.pk, workspace))
        event.add("dtstamp", stamp)
        event.add("summary", meeting.title)
        event.add("dtstart", meeting.scheduled_at)
        event.add("dtend", meeting.scheduled_at + dt.timedelta(minutes=meeting.duration_minutes))
        event.add("description", str(meeting.get_kind_display()))
        event.add("categories", ["meeting"])
        cal.add_component(event)
    return cal.to_ical()


class NewsletterFeed(Atom1Feed):
    """Atom 1.0 with each issue's full HTML in <content>, the summary being its first lines."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        if item.get("content"):
            handler.addQuickElement("content", item["content"], {"type": "html"})


def _summary(markdown: str) -> str:
    lines = [
        line.strip()
        for line in (markdown or "").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return lines[0][:300] if lines else ""


def newsletter_atom(workspace, issues, *, feed_url: str, link: str) -> str:
    """Atom XML of the published issues, newest first, each with its full HTML."""
    feed = NewsletterFeed(
        title=_("%(name)s product newsletter") % {"name": workspace.name},
        link=link,
        description=_("Monthly product news of %(name)s.") % {"name": workspace.name},
        feed_url=feed_url,
        language=settings.LANGUAGE_CODE,
        feed_guid=feed_url.split("?", 1)[0],
    )
    for issue in issues:
        url = settings.SITE_URL + issue.get_archive_url()
        feed.add_item(
            title=issue.title,
            link=url,
            description=_summary(issue.body_markdown),
            content=str(newsletter_lib.markdown_to_html(issue.body_markdown)),
            unique_id=url,
            pubdate=issue.published_at,
            updateddate=issue.updated_at,
            author_name=workspace.name,
        )
    return feed.writeString("utf-8")
