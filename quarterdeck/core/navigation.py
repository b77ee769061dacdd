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
# Pages without an entry of their own, shown as part of one (paths under the workspace's root).
SECTIONS = {
    "matrix": ("strategy/drivers/", "strategy/scoring/", "strategy/features/"),
    "okrs": ("strategy/objectives/", "strategy/key-results/"),
}


def nav_items(request):
    items = []
    root = reverse("core:home", kwargs={"ws": request.workspace.slug})
    prefixes: list[tuple[str, dict]] = []
    for name, label, key in NAV:
        try:
            url = reverse(name, kwargs={"ws": request.workspace.slug})
        except NoReverseMatch:
            continue
        item = {"url": url, "label": label, "key": key, "active": False}
        items.append(item)
        prefixes += [(url, item), *((root + path, item) for path in SECTIONS.get(key, ()))]
    # The entry with the longest prefix of the current path is the active one ("Board" under
    # /features/board/ wins over "Backlog" at /features/).
    matches = [(prefix, item) for prefix, item in prefixes if request.path.startswith(prefix)]
    if matches:
        max(matches, key=lambda match: len(match[0]))[1]["active"] = True
    return items
