"""The main navigation. Entries whose URL is not installed are skipped."""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

NAV = [
    ("core:home", _("Home"), "home"),
    ("insights:inbox", _("Inbox"), "inbox"),
    ("insights:needs", _("Needs"), "needs"),
    ("insights:stakeholders", _("Stakeholders"), "stakeholders"),
    ("linking:themes", _("Themes"), "themes"),
    ("linking:search", _("Search"), "search"),
    ("backlog:list", _("Backlog"), "backlog"),
    ("backlog:board", _("Board"), "board"),
    ("strategy:matrix", _("Prioritization"), "matrix"),
    ("rituals:roadmap", _("Roadmap"), "roadmap"),
    ("strategy:okrs", _("OKRs"), "okrs"),
    ("squads:list", _("Squads"), "squads"),
    ("rituals:meetings", _("Meetings"), "meetings"),
    ("rituals:newsletters", _("Newsletter"), "newsletter"),
]


def nav_items(request):
    items = []
    for name, label, key in NAV:
        try:
            url = reverse(name, kwargs={"ws": request.workspace.slug})
        except NoReverseMatch:
            continue
        items.append({"url": url, "label": label, "key": key, "active": False})
    # The entry whose URL is the longest prefix of the current path is the active one
    # ("Board" under /features/board/ wins over "Backlog" at /features/).
    matches = [item for item in items if request.path.startswith(item["url"])]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    return items
