"""Inbox, insights, needs and stakeholders pages."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from quarterdeck.core import activity
from quarterdeck.core.access import get_for, writer_required
from quarterdeck.core.forms import apply_errors
from quarterdeck.core.pagination import paginate
from quarterdeck.insights import selectors, services
from quarterdeck.insights.forms import (
    InsightEditForm,
    InsightForm,
    LinkForm,
    NeedForm,
)
from quarterdeck.insights.models import (
    Channel,
    Insight,
    InsightLink,
    InsightState,
    Need,
    NeedState,
    Stakeholder,
)

INBOX_PAGE_SIZE = 50
INBOX_FILTERS = ("state", "segment", "source", "stakeholder", "q")
STATE_TABS = (
    ("new", gettext_lazy("New")),
    ("triaged", gettext_lazy("Triaged")),
    ("archived", gettext_lazy("Archived")),
    ("all", gettext_lazy("All")),
)


def _url_or_none(name: str, **kwargs) -> str | None:
    """The URL of a page another app may or may not provide yet."""
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return None


def _error_text(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ".join(m for msgs in exc.message_dict.values() for m in msgs)
    return " ".join(exc.messages)


def _form_errors(form, exc: ValidationError, rename: dict | None = None) -> None:
    apply_errors(form, exc, rename)


def _toast(response: HttpResponse, message: str, *, undo: str | None = None, level="success"):
    payload = {"message": message, "level": level}
    if undo:
        payload.update({"undo": undo, "undo_label": _("Undo"), "undo_target": "#inbox"})
    response["HX-Trigger"] = json.dumps({"toast": payload})
    return response


def _text_pieces(text: str, highlights) -> list[tuple[str, bool]]:
    """`text` cut into (piece, is_quoted) so that the quoted passages can be marked."""
    spans = []
    for quote in {h for h in highlights if h}:
        start = text.find(quote)
        if start >= 0:
            spans.append((start, start + len(quote)))
    pieces, at = [], 0
    for start, end in sorted(spans):
        start = max(start, at)
        if start >= end:
            continue
        if start > at:
            pieces.append((text[at:start], False))
        pieces.append((text[start:end], True))
        at = end
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces


# ---------------------------------------------------------------------------------------- inbox


def _inbox_params(raw) -> QueryDict:
    """Only the inbox's own parameters, from a query string or a QueryDict."""
    source = QueryDict(raw) if isinstance(raw, str) else raw
    params = QueryDict(mutable=True)
    for key in (*INBOX_FILTERS, "page", "selected"):
        value = (source.get(key) or "").strip()
        if value:
            params[key] = value[:200]
    return params


def _inbox_filters(params: QueryDict) -> dict:
    state = params.get("state") or InsightState.NEW
    if state not in InsightState.values and state != "all":
        state = InsightState.NEW
    stakeholder = params.get("stakeholder") or ""
    source = params.get("source") or ""
    return {
        "state": state,
        "segment": params.get("segment") or "",
        "source": source if source in Channel.values else "",
        "stakeholder": int(stakeholder) if stakeholder.isdigit() else None,
        "q": params.get("q") or "",
    }


def _inbox_context(request, params: QueryDict) -> dict:
    """Everything the three panes show for these parameters."""
    workspace = request.workspace
    filters = _inbox_filters(params)
    narrowing = {k: v for k, v in filters.items() if k != "state"}
    counts = selectors.inbox_counts(workspace, **narrowing)
    state = filters["state"]
    queryset = selectors.inbox_queryset(
        workspace, state=None if state == "all" else state, **narrowing
    )
    paginator = Paginator(queryset, INBOX_PAGE_SIZE)
    paginator.count = counts[state]  # already counted: spare the database a second COUNT
    page = paginator.get_page(params.get("page"))
    items = list(page.object_list)

    selected = None
    selected_id = params.get("selected") or ""
    if selected_id.isdigit():
        selected = next((i for i in items if i.pk == int(selected_id)), None)
        if selected is None:
            selected = selectors.inbox_queryset(workspace).filter(pk=selected_id).first()
    elif items:
        selected = items[0]
    if selected is not None:
        selectors.prefetch_insight_links([selected])
        selected.pieces = _text_pieces(
            selected.text, [link.highlight for link in selected.links.all()]
        )

    position = next((n for n, i in enumerate(items) if selected and i.pk == selected.pk), None)
    following = preceding = None
    if position is not None:
        following = items[position + 1] if position + 1 < len(items) else None
        preceding = items[position - 1] if position > 0 else None
    # After an action the list moves on: to the next insight, or the previous one at the end.
    after_action = following or preceding

    base = QueryDict(mutable=True)
    for key in INBOX_FILTERS:
        value = filters[key]
        if value and not (key == "state" and value == InsightState.NEW):
            base[key] = str(value)
    list_query = base.copy()
    if page.number > 1:
        list_query["page"] = str(page.number)

    stakeholder_filter = None
    if filters["stakeholder"]:
        stakeholder_filter = Stakeholder.objects.filter(
            workspace=workspace, pk=filters["stakeholder"]
        ).first()

    suggestions_url = None
    if selected is not None:
        suggestions_url = _url_or_none("linking:suggestions", ws=workspace.slug, pk=selected.pk)
        if suggestions_url is None:
            url = _url_or_none("linking:suggestions", ws=workspace.slug)
            suggestions_url = f"{url}?insight={selected.pk}" if url else None

    return {
        "filters": filters,
        "counts": counts,
        "state_tabs": [(key, label, counts[key]) for key, label in STATE_TABS],
        "page": page,
        "items": items,
        "selected": selected,
        "following": following,
        "preceding": preceding,
        "after_action": after_action,
        "list_query": list_query.urlencode(),
        "filter_query": base.urlencode(),
        "segments": selectors.segments(workspace),
        "channels": Channel.choices,
        "stakeholder_filter": stakeholder_filter,
        "open_needs": selectors.need_search(workspace, "") if selected else [],
        "suggestions_url": suggestions_url,
        "importance_choices": LinkForm.base_fields["importance"].choices,
        "inbox_url": reverse("insights:inbox", kwargs={"ws": workspace.slug}),
        "explicit_selection": bool(selected_id),
    }


def _inbox_url(request, params: QueryDict) -> str:
    url = reverse("insights:inbox", kwargs={"ws": request.workspace.slug})
    return f"{url}?{params.urlencode()}" if params else url


def _render_inbox_after(request, return_query: str, select_id: int | None) -> HttpResponse:
    """The inbox as it is after an action, with `select_id` selected (htmx swap of #inbox)."""
    params = _inbox_params(return_query)
    params.pop("selected", None)
    if select_id:
        params["selected"] = str(select_id)
    context = _inbox_context(request, params)
    # Removing an item may leave the last page empty: go back one page.
    if not context["items"] and context["page"].number > 1:
        params["page"] = str(context["page"].number - 1)
        context = _inbox_context(request, params)
    response = render(request, "insights/inbox.html#panes", context)
    response["HX-Push-Url"] = _inbox_url(request, params)
    return response


def _redirect_to_inbox(request, return_query: str, select_id: int | None):
    params = _inbox_params(return_query)
    params.pop("selected", None)
    if select_id:
        params["selected"] = str(select_id)
    return redirect(_inbox_url(request, params))


@login_required
def to_inbox(request):
    return redirect("insights:inbox", ws=request.workspace.slug)


@login_required
@vary_on_headers("HX-Request", "HX-Target")
def inbox(request):
    params = _inbox_params(request.GET)
    context = _inbox_context(request, params)
    if request.htmx and request.htmx.target == "work":
        return render(request, "insights/inbox.html#work", context)
    if request.htmx and request.htmx.target == "inbox":
        return render(request, "insights/inbox.html#panes", context)
    return render(request, "insights/inbox.html", context)


def _next_id(request) -> int | None:
    value = request.POST.get("next", "")
    return int(value) if value.isdigit() else None


@login_required
@writer_required
@require_POST
def link(request, pk):
    """Link an insight to a need (or to a new need) with the quoted passage."""
    insight = get_for(request, Insight.objects.all(), pk)
    form = LinkForm(request.POST)
    return_query = request.POST.get("return", "")
    error = None
    need = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["creates"]:
                need = services.need_create(
                    workspace=request.workspace,
                    title=form.new_title,
                    by=request.user,
                    from_insight=insight,
                    highlight=data["highlight"],
                    importance=data["importance"],
                )
            else:
                need = get_for(request, Need.objects.all(), data["need_id"])
                services.insight_link(
                    insight=insight,
                    need=need,
                    by=request.user,
                    highlight=data["highlight"],
                    importance=data["importance"],
                )
        except ValidationError as exc:
            error = _error_text(exc)
    else:
        error = " ".join(m for msgs in form.errors.values() for m in msgs)

    from_detail = request.POST.get("from") == "detail"
    if error:
        if request.htmx and not from_detail:
            response = HttpResponse(status=200)
            response["HX-Reswap"] = "none"
            return _toast(response, error, level="error")
        messages.error(request, error)
        if from_detail:
            return redirect(insight.get_absolute_url())
        return _redirect_to_inbox(request, return_query, insight.pk)

    if data["creates"]:
        done = _("Created the need “%(need)s” and linked this insight.") % {"need": need.title}
    else:
        done = _("Linked to “%(need)s”.") % {"need": need.title}
    if from_detail:
        messages.success(request, done)
        return redirect(insight.get_absolute_url())
    if request.htmx:
        return _toast(_render_inbox_after(request, return_query, _next_id(request)), done)
    messages.success(request, done)
    return _redirect_to_inbox(request, return_query, _next_id(request))


@login_required
@writer_required
@require_POST
def archive(request, pk):
    insight = get_for(request, Insight.objects.all(), pk)
    services.insight_archive(insight=insight, by=request.user)
    return_query = request.POST.get("return", "")
    done = _("Insight archived.")
    if request.POST.get("from") == "detail":
        messages.success(request, done)
        return redirect(insight.get_absolute_url())
    if request.htmx:
        undo = reverse("insights:unarchive", kwargs={"ws": request.workspace.slug, "pk": pk})
        undo = f"{undo}?{_return_param(return_query)}"
        response = _render_inbox_after(request, return_query, _next_id(request))
        return _toast(response, done, undo=undo)
    messages.success(request, done)
    return _redirect_to_inbox(request, return_query, _next_id(request))


def _return_param(return_query: str) -> str:
    params = QueryDict(mutable=True)
    params["return"] = _inbox_params(return_query).urlencode()
    return params.urlencode()


@login_required
@writer_required
@require_POST
def unarchive(request, pk):
    """Restore an archived insight (the Undo of archive)."""
    insight = get_for(request, Insight.objects.all(), pk)
    services.insight_unarchive(insight=insight, by=request.user)
    return_query = request.POST.get("return") or request.GET.get("return", "")
    done = _("Insight restored.")
    if request.POST.get("from") == "detail":
        messages.success(request, done)
        return redirect(insight.get_absolute_url())
    if request.htmx:
        return _toast(_render_inbox_after(request, return_query, insight.pk), done)
    messages.success(request, done)
    return _redirect_to_inbox(request, return_query, insight.pk)


@login_required
def need_search(request):
    """The open needs matching what is typed in the linking panel (an htmx fragment)."""
    query = (request.GET.get("title") or request.GET.get("q") or "").strip()
    needs = selectors.need_search(request.workspace, query)
    return render(
        request,
        "insights/_need_results.html",
        {"needs": needs, "query": query, "can_create": request.membership.can_write},
    )


# ------------------------------------------------------------------------------------- insights


@login_required
@writer_required
def insight_new(request):
    workspace = request.workspace
    initial = {}
    picked = None
    stakeholder_id = request.GET.get("stakeholder", "")
    if stakeholder_id.isdigit():
        picked = Stakeholder.objects.filter(workspace=workspace, pk=stakeholder_id).first()
        if picked and picked.email:
            initial = {"stakeholder_email": picked.email, "stakeholder_name": picked.name}
    form = InsightForm(request.POST or None, workspace=workspace, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            insight = services.insight_capture(
                workspace=workspace, by=request.user, **form.service_kwargs()
            )
        except ValidationError as exc:
            rename = {"email": "stakeholder_email", "name": "stakeholder_name"}
            _form_errors(form, exc, rename=rename)
        else:
            messages.success(request, _("Insight added to the inbox."))
            if "add_another" in request.POST:
                return redirect("insights:insight_new", ws=workspace.slug)
            return redirect(insight.get_absolute_url())
    return render(
        request,
        "insights/insight_form.html",
        {
            "form": form,
            "stakeholder_emails": selectors.stakeholder_emails(workspace),
        },
    )


@login_required
def detail(request, pk):
    workspace = request.workspace
    insight = get_for(request, Insight.objects.all(), pk)
    insight = selectors.insight_detail(workspace, insight.pk)
    insight.pieces = _text_pieces(insight.text, [link.highlight for link in insight.links.all()])
    edit_form = None
    if request.membership.can_write:
        edit_form = InsightEditForm(
            workspace=workspace, initial=InsightEditForm.initial_for(insight)
        )
    return render(
        request,
        "insights/detail.html",
        {
            "insight": insight,
            "edit_form": edit_form,
            "history": activity.history(workspace, insight),
            "open_needs": selectors.need_search(workspace, ""),
            "importance_choices": LinkForm.base_fields["importance"].choices,
            "inbox_url": reverse("insights:inbox", kwargs={"ws": workspace.slug}),
        },
    )


@login_required
@writer_required
@require_POST
def insight_edit(request, pk):
    workspace = request.workspace
    insight = get_for(request, Insight.objects.all(), pk)
    form = InsightEditForm(request.POST, workspace=workspace)
    if form.is_valid():
        try:
            services.insight_update(insight=insight, by=request.user, **form.changes(insight))
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Insight saved."))
            return redirect(insight.get_absolute_url())
    insight = selectors.insight_detail(workspace, insight.pk)
    insight.pieces = _text_pieces(insight.text, [link.highlight for link in insight.links.all()])
    return render(
        request,
        "insights/detail.html",
        {
            "insight": insight,
            "edit_form": form,
            "edit_open": True,
            "history": activity.history(workspace, insight),
            "open_needs": selectors.need_search(workspace, ""),
            "importance_choices": LinkForm.base_fields["importance"].choices,
            "inbox_url": reverse("insights:inbox", kwargs={"ws": workspace.slug}),
        },
        status=400,
    )


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@login_required
@writer_required
@require_POST
def unlink(request, pk):
    """Remove a link between an insight and a need."""
    link = get_for(request, InsightLink.objects.select_related("insight", "need"), pk)
    services.insight_unlink(link=link, by=request.user)
    messages.success(request, _("Unlinked from “%(need)s”.") % {"need": link.need.title})
    return redirect(_safe_next(request, link.insight.get_absolute_url()))


# ---------------------------------------------------------------------------------------- needs


@login_required
def needs(request):
    workspace = request.workspace
    q = request.GET.get("q", "").strip()
    segment = request.GET.get("segment", "").strip()
    state = request.GET.get("state", NeedState.OPEN)
    if state not in NeedState.values:
        state = NeedState.OPEN
    page = paginate(request, selectors.needs_list(workspace, q=q, segment=segment, state=state))
    return render(
        request,
        "insights/needs.html",
        {
            "page": page,
            "q": q,
            "segment": segment,
            "state": state,
            "states": NeedState.choices,
            "segments": selectors.segments(workspace),
            "form": NeedForm(workspace=workspace) if request.membership.can_write else None,
        },
    )


@login_required
@writer_required
def need_new(request):
    """A new need; with `insight` it is created from that insight and linked to it."""
    workspace = request.workspace
    source = request.POST.get("insight") or request.GET.get("insight") or ""
    insight = get_for(request, Insight.objects.all(), source) if source else None
    initial = {"title": request.GET.get("title", "")}
    form = NeedForm(request.POST or None, workspace=workspace, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            need = services.need_create(
                workspace=workspace,
                title=data["title"],
                description=data["description"],
                segments=data["segments"],
                by=request.user,
                from_insight=insight,
                highlight=request.POST.get("highlight", ""),
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Need created."))
            return redirect(need.get_absolute_url())
    return render(request, "insights/need_form.html", {"form": form, "insight": insight})


@login_required
def need(request, pk):
    workspace = request.workspace
    need = get_for(request, Need.objects.all(), pk)
    need = selectors.need_detail(workspace, need.pk)
    links = paginate(request, selectors.need_links(need))
    features = list(selectors.need_features(need))
    for feature in features:
        feature.url = _url_or_none("backlog:feature", ws=workspace.slug, pk=feature.pk)
    new_feature_url = _url_or_none("backlog:feature_new", ws=workspace.slug)
    form = None
    if request.membership.can_write:
        form = NeedForm(
            workspace=workspace,
            initial={
                "title": need.title,
                "description": need.description,
                "segments": list(need.segments.all()),
            },
        )
    return render(
        request,
        "insights/need.html",
        {
            "need": need,
            "links": links,
            "demand": selectors.need_demand_by_segment(need),
            "people_count": selectors.need_people_count(need),
            "features": features,
            "new_feature_url": f"{new_feature_url}?need={need.pk}" if new_feature_url else None,
            "form": form,
            "history": activity.history(workspace, need, limit=20),
        },
    )


@login_required
@writer_required
@require_POST
def need_edit(request, pk):
    workspace = request.workspace
    need = get_for(request, Need.objects.all(), pk)
    form = NeedForm(request.POST, workspace=workspace)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.need_update(
                need=need,
                by=request.user,
                title=data["title"].strip(),
                description=data["description"].strip(),
                segments=data["segments"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Need saved."))
            return redirect(need.get_absolute_url())
    messages.error(request, " ".join(m for msgs in form.errors.values() for m in msgs))
    return redirect(need.get_absolute_url())


@login_required
@writer_required
@require_POST
def need_state(request, pk):
    """Archive a need that no longer matters, or reopen it."""
    need = get_for(request, Need.objects.all(), pk)
    state = request.POST.get("state", "")
    if state not in NeedState.values:
        messages.error(request, _("Unknown state “%(s)s”.") % {"s": state})
        return redirect(need.get_absolute_url())
    services.need_update(need=need, by=request.user, state=state)
    if state == NeedState.ARCHIVED:
        messages.success(request, _("Need archived; it no longer appears in the linking search."))
    else:
        messages.success(request, _("Need reopened."))
    return redirect(need.get_absolute_url())


# --------------------------------------------------------------------------------- stakeholders


@login_required
def stakeholders(request):
    workspace = request.workspace
    q = request.GET.get("q", "").strip()
    segment = request.GET.get("segment", "").strip()
    page = paginate(request, selectors.stakeholders_list(workspace, q=q, segment=segment))
    page.object_list = selectors.with_insight_counts(list(page.object_list))
    return render(
        request,
        "insights/stakeholders.html",
        {"page": page, "q": q, "segment": segment, "segments": selectors.segments(workspace)},
    )


@login_required
def stakeholder(request, pk):
    workspace = request.workspace
    person = get_for(request, Stakeholder.objects.select_related("segment"), pk)
    insights = paginate(request, selectors.stakeholder_insights(person))
    insights.object_list = list(insights.object_list)
    selectors.prefetch_insight_links(insights.object_list)
    return render(
        request,
        "insights/stakeholder.html",
        {
            "person": person,
            "insights": insights,
            "needs": selectors.stakeholder_needs(person),
            "inbox_url": reverse("insights:inbox", kwargs={"ws": workspace.slug}),
        },
    )
