"""Link suggestions in the inbox, search, duplicate groups, themes and import progress."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from quarterdeck.core.access import get_for, writer_required
from quarterdeck.insights import views as inbox_views
from quarterdeck.insights.models import Insight, InsightState
from quarterdeck.linking import selectors, services, tasks
from quarterdeck.linking.models import LinkSuggestion, Theme

SEARCH_LIMIT = 10


def _suggestions_context(request, insight: Insight) -> dict:
    suggestions = services.suggestions_for(insight=insight)
    features = selectors.needs_with_features([s.need_id for s in suggestions])
    for s in suggestions:
        s.features = features.get(s.need_id, [])
    no_match = bool(suggestions) and suggestions[0].no_match
    return {
        "insight": insight,
        "suggestions": suggestions,
        "no_match": no_match,
        "method": suggestions[0].method if suggestions else None,
        "linker": selectors.linker_state(request.workspace),
        "new_title": insight.summary[:200],
    }


@login_required
def suggestions(request, pk):
    """The suggested needs of one insight (loaded into the inbox's linking pane)."""
    insight = get_for(request, Insight.objects.select_related("workspace"), pk)
    return render(request, "linking/_suggestions.html", _suggestions_context(request, insight))


def _inbox_response(request, insight: Insight, done: str, error: str | None = None):
    """What the inbox's own link action answers: the inbox re-rendered, moved on, with a toast."""
    return_query = request.POST.get("return", "")
    if error:
        if request.htmx:
            response = HttpResponse(status=200)
            response["HX-Reswap"] = "none"
            return inbox_views._toast(response, error, level="error")
        messages.error(request, error)
        return inbox_views._redirect_to_inbox(request, return_query, insight.pk)
    next_id = inbox_views._next_id(request)
    if request.htmx:
        response = inbox_views._render_inbox_after(request, return_query, next_id)
        return inbox_views._toast(response, done)
    messages.success(request, done)
    return inbox_views._redirect_to_inbox(request, return_query, next_id)


def _importance(request) -> int:
    value = request.POST.get("importance", "2")
    return int(value) if value in {"1", "2", "3"} else 0


@login_required
@writer_required
@require_POST
def accept(request, pk):
    """Link the insight to a suggested need in one click (recorded as an accepted suggestion)."""
    suggestion = get_for(request, LinkSuggestion.objects.select_related("insight", "need"), pk)
    error = None
    try:
        services.suggestion_accept(
            suggestion=suggestion,
            by=request.user,
            highlight=request.POST.get("highlight", ""),
            importance=_importance(request),
        )
    except ValidationError as exc:
        error = inbox_views._error_text(exc)
    done = _("Linked to “%(need)s” (suggested).") % {"need": suggestion.need.title}
    return _inbox_response(request, suggestion.insight, done, error)


@login_required
@writer_required
@require_POST
def dismiss(request, pk):
    """“Not this one”: hide a suggestion and show the remaining ones."""
    suggestion = get_for(request, LinkSuggestion.objects.select_related("insight", "need"), pk)
    services.suggestion_dismiss(suggestion=suggestion, by=request.user)
    if request.htmx:
        context = _suggestions_context(request, suggestion.insight)
        context["dismissed"] = suggestion
        return render(request, "linking/_suggestions.html", context)
    return redirect(suggestion.insight.get_absolute_url())


@login_required
def progress(request):
    """How far the suggestions for imported insights have got (polled while running)."""
    return render(
        request, "linking/_progress.html", {"progress": selectors.progress(request.workspace)}
    )


@login_required
@vary_on_headers("HX-Request")
def search(request):
    q = (request.GET.get("q") or "").strip()[:500]
    results = selectors.search(request.workspace, q, limit=SEARCH_LIMIT) if q else {}
    groups = [
        (key, label, results.get(key, []))
        for key, label in (
            ("needs", _("Needs")),
            ("features", _("Features")),
            ("insights", _("Insights")),
        )
    ]
    context = {"q": q, "groups": groups, "total": sum(len(r) for r in results.values())}
    if request.htmx:
        return render(request, "linking/search.html#results", context)
    return render(request, "linking/search.html", context)


@login_required
def duplicates(request):
    groups = selectors.duplicate_groups(request.workspace)
    return render(request, "linking/duplicates.html", {"groups": groups})


@login_required
@writer_required
@require_POST
def ungroup(request, pk):
    """“Not a duplicate”."""
    insight = get_for(request, Insight.objects.select_related("duplicate_of", "workspace"), pk)
    try:
        services.duplicate_ungroup(insight=insight, by=request.user)
        messages.success(request, _("Marked as not a duplicate."))
    except ValidationError as exc:
        messages.error(request, inbox_views._error_text(exc))
    return redirect("linking:duplicates", ws=request.workspace.slug)


@login_required
def themes(request):
    return render(
        request,
        "linking/themes.html",
        {
            "themes": selectors.themes(request.workspace),
            "unlinked": Insight.objects.filter(
                workspace=request.workspace, state=InsightState.NEW, links__isnull=True
            ).count(),
        },
    )


@login_required
@writer_required
@require_POST
def themes_recompute(request):
    tasks.compute_themes.enqueue(workspace_id=request.workspace.pk)
    messages.success(
        request, _("Themes are being recomputed; this page shows them once they are ready.")
    )
    return redirect("linking:themes", ws=request.workspace.slug)


@login_required
@writer_required
@require_POST
def theme_to_need(request, pk):
    theme = get_for(request, Theme.objects.select_related("workspace"), pk)
    try:
        need = services.theme_to_need(
            theme=theme, by=request.user, title=request.POST.get("title", "")
        )
    except ValidationError as exc:
        messages.error(request, inbox_views._error_text(exc))
        return redirect("linking:themes", ws=request.workspace.slug)
    messages.success(
        request,
        _("Created the need “%(need)s” and linked %(n)s insights.")
        % {"need": need.title, "n": need.links.count()},
    )
    return redirect(need.get_absolute_url())
