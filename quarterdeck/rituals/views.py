"""Meetings, roadmap and newsletter pages (in a workspace) and the public share pages.

Thin: parse input, call one service or selector, render.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from quarterdeck.accounts.models import Membership
from quarterdeck.core.access import get_for, require_manage, require_write
from quarterdeck.core.forms import apply_errors
from quarterdeck.rituals import feeds, selectors, services
from quarterdeck.rituals import newsletter as newsletter_lib
from quarterdeck.rituals.forms import (
    DecisionForm,
    EvaluationRequestForm,
    FlagForm,
    MeetingForm,
    NewsletterForm,
    NotesForm,
    ShareForm,
)
from quarterdeck.rituals.models import Meeting, MeetingKind, ShareKind, ShareLink

SHARE_SESSION_KEY = "rituals_new_share"


def _ws(request) -> dict:
    return {"ws": request.workspace.slug}


# --- meetings ---------------------------------------------------------------------------------


@login_required
def meetings(request):
    kind = request.GET.get("kind") or ""
    if kind not in MeetingKind.values:
        kind = ""
    now = timezone.now()
    rows = list(selectors.meetings(request.workspace, kind=kind or None))
    return render(
        request,
        "rituals/meetings.html",
        {
            "upcoming": [m for m in rows if m.scheduled_at >= now][::-1],
            "past": [m for m in rows if m.scheduled_at < now],
            "kind": kind,
            "kinds": MeetingKind.choices,
            "flags": selectors.open_flags(request.workspace),
            "flag_form": FlagForm(workspace=request.workspace),
            "title": _("Meetings"),
        },
    )


@login_required
def meeting_new(request):
    require_write(request)
    form = MeetingForm(request.POST or None, workspace=request.workspace)
    if request.method == "GET":
        kind = request.GET.get("kind")
        if kind in MeetingKind.values:
            form.initial["kind"] = kind
        form.initial["attendee_users"] = [request.user.pk]
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.meeting_create(
                workspace=request.workspace, by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Meeting planned; its agenda is ready."))
            return redirect("rituals:meeting", pk=meeting.pk, **_ws(request))
    return render(request, "rituals/meeting_new.html", {"form": form, "title": _("Plan a meeting")})


def _meeting_context(request, meeting: Meeting, **extra) -> dict:
    features = selectors.meeting_feature_choices(meeting)
    agenda_ids = set(selectors.agenda_feature_ids(meeting.agenda))
    context = {
        "meeting": meeting,
        "agenda": meeting.agenda,
        "notes_form": NotesForm(
            initial={"notes": meeting.notes, "attachments": meeting.attachments}
        ),
        "decision_form": DecisionForm(features=features),
        "agenda_features": [f for f in features if f.pk in agenda_ids],
        "other_features": [f for f in features if f.pk not in agenda_ids],
        "eval_form": EvaluationRequestForm(
            features=features, engineers=selectors.squad_engineers(meeting)
        ),
        "attachments_html": newsletter_lib.markdown_to_html(meeting.attachments),
        "notes_html": newsletter_lib.markdown_to_html(meeting.notes),
        "recipients": services.minutes_recipients(meeting),
        "title": meeting.title,
    }
    context.update(extra)
    return context


@login_required
def meeting(request, pk):
    obj = get_for(request, Meeting.objects.all(), pk)
    obj = selectors.meeting_detail(request.workspace, obj.pk)
    return render(request, "rituals/meeting.html", _meeting_context(request, obj))


@login_required
@require_POST
def meeting_notes(request, pk):
    require_write(request)
    obj = get_for(request, Meeting.objects.all(), pk)
    form = NotesForm(request.POST)
    if form.is_valid():
        services.meeting_update(meeting=obj, by=request.user, **form.cleaned_data)
        messages.success(request, _("Notes saved."))
    return redirect("rituals:meeting", pk=obj.pk, **_ws(request))


@login_required
@require_POST
def meeting_agenda(request, pk):
    require_write(request)
    obj = get_for(request, Meeting.objects.all(), pk)
    services.meeting_regenerate_agenda(meeting=obj, by=request.user)
    messages.success(request, _("Agenda regenerated from today's data."))
    return redirect("rituals:meeting", pk=obj.pk, **_ws(request))


@login_required
@require_POST
def meeting_decide(request, pk):
    require_write(request)
    obj = get_for(request, Meeting.objects.all(), pk)
    form = DecisionForm(request.POST, features=selectors.meeting_feature_choices(obj))
    refusals = []
    if form.is_valid():
        try:
            services.decision_record(meeting=obj, by=request.user, **form.cleaned_data)
        except services.DecisionRefused as exc:
            refusals = exc.refusals
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Decision recorded."))
            return redirect(
                reverse("rituals:meeting", kwargs={"pk": obj.pk, **_ws(request)}) + "#decisions"
            )
    obj = selectors.meeting_detail(request.workspace, obj.pk)
    context = _meeting_context(request, obj, decision_form=form, refusals=refusals)
    return render(request, "rituals/meeting.html", context, status=400 if refusals else 422)


@login_required
@require_POST
def meeting_minutes(request, pk):
    require_write(request)
    obj = get_for(request, Meeting.objects.all(), pk)
    try:
        count = services.meeting_send_minutes(meeting=obj, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Minutes are on their way to %(n)d attendees.") % {"n": count})
    return redirect("rituals:meeting", pk=obj.pk, **_ws(request))


@login_required
@require_POST
def meeting_evaluation(request, pk):
    require_write(request)
    obj = get_for(request, Meeting.objects.all(), pk)
    form = EvaluationRequestForm(
        request.POST,
        features=selectors.meeting_feature_choices(obj),
        engineers=selectors.squad_engineers(obj),
    )
    if form.is_valid():
        try:
            services.meeting_evaluation_request(meeting=obj, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Evaluation requested."))
            return redirect(
                reverse("rituals:meeting", kwargs={"pk": obj.pk, **_ws(request)}) + "#evaluations"
            )
    obj = selectors.meeting_detail(request.workspace, obj.pk)
    return render(
        request, "rituals/meeting.html", _meeting_context(request, obj, eval_form=form), status=422
    )


@login_required
@require_POST
def flag_new(request):
    require_write(request)
    form = FlagForm(request.POST, workspace=request.workspace)
    if form.is_valid():
        services.decision_flag_create(by=request.user, **form.cleaned_data)
        messages.success(request, _("Flagged for a decision at the next review."))
    else:
        messages.error(request, _("Pick the feature to flag."))
    return redirect("rituals:meetings", **_ws(request))


# --- roadmap ----------------------------------------------------------------------------------


def _squad_param(request):
    from quarterdeck.squads.models import Squad

    value = request.GET.get("squad")
    if not value:
        return None
    return get_for(request, Squad.objects.all(), value)


@login_required
def roadmap(request):
    from quarterdeck.squads.models import Squad

    squad = _squad_param(request)
    new_share = request.session.pop(SHARE_SESSION_KEY, None)
    context = {
        "rows": selectors.roadmap(request.workspace, squad=squad),
        "timeline": selectors.timeline(request.workspace, squad=squad),
        "labels": selectors.horizon_labels(),
        "squads": Squad.objects.filter(workspace=request.workspace),
        "squad": squad,
        "shares": selectors.share_links(request.workspace) if request.membership.can_manage else [],
        "share_form": ShareForm(workspace=request.workspace),
        "new_share": new_share,
        "title": _("Roadmap"),
    }
    return render(request, "rituals/roadmap.html", context)


@login_required
@require_POST
def share_new(request):
    require_manage(request)
    form = ShareForm(request.POST, workspace=request.workspace)
    if not form.is_valid():
        messages.error(request, _("Pick what to share."))
        return redirect("rituals:roadmap", **_ws(request))
    link, token = services.share_link_create(
        workspace=request.workspace, by=request.user, **form.cleaned_data
    )
    if link.kind == ShareKind.CALENDAR:
        url = reverse("rituals_public:ical", kwargs={"token": token})
    else:
        url = reverse("rituals_public:roadmap", kwargs={"token": token})
    request.session[SHARE_SESSION_KEY] = {
        "url": settings.SITE_URL + url,
        "kind": link.get_kind_display(),
    }
    return redirect(reverse("rituals:roadmap", kwargs=_ws(request)) + "#sharing")


@login_required
@require_POST
def share_revoke(request, pk):
    require_manage(request)
    link = get_for(request, ShareLink.objects.all(), pk)
    services.share_link_revoke(link=link, by=request.user)
    messages.success(request, _("Link revoked: it no longer opens anything."))
    return redirect(reverse("rituals:roadmap", kwargs=_ws(request)) + "#sharing")


def shared_roadmap(request, token):
    link = selectors.share_link_for(token, ShareKind.ROADMAP)
    if link is None:
        raise Http404
    services.share_link_touch(link)
    response = render(
        request,
        "rituals/shared_roadmap.html",
        {
            "link": link,
            "shared_workspace": link.workspace,
            "rows": selectors.roadmap(link.workspace, squad=link.squad),
            "timeline": selectors.timeline(link.workspace, squad=link.squad),
            "labels": selectors.horizon_labels(),
            "title": _("%(name)s roadmap") % {"name": link.workspace.name},
        },
    )
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


def ical(request, token):
    link = selectors.share_link_for(token, ShareKind.CALENDAR)
    if link is None:
        raise Http404
    services.share_link_touch(link)
    name = link.workspace.name + (f" · {link.squad.name}" if link.squad_id else "")
    body = feeds.calendar_ics(
        link.workspace,
        selectors.calendar_items(link.workspace, squad=link.squad),
        name=_("%(name)s releases and meetings") % {"name": name},
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="quarterdeck.ics"'
    return response


# --- newsletter (in the workspace) ------------------------------------------------------------


@login_required
def newsletters(request):
    issues = list(selectors.newsletters(request.workspace))
    taken = {n.month for n in issues}
    today = timezone.localdate()
    feed = services.newsletter_feed_key(workspace=request.workspace)
    return render(
        request,
        "rituals/newsletters.html",
        {
            "issues": issues,
            "months": [m for m in selectors.month_choices(today) if m not in taken],
            "suggested": newsletter_lib.previous_month(today),
            "feed_url": settings.SITE_URL
            + reverse("rituals_public:news_feed", kwargs={"slug": request.workspace.slug})
            + f"?key={feed.key}",
            "archive_url": reverse(
                "rituals_public:news_archive", kwargs={"slug": request.workspace.slug}
            ),
            "title": _("Newsletter"),
        },
    )


@login_required
@require_POST
def newsletter_draft(request):
    require_manage(request)
    try:
        month = newsletter_lib.parse_month(request.POST.get("month", ""))
        issue = services.newsletter_draft(workspace=request.workspace, month=month, by=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("rituals:newsletters", **_ws(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("rituals:newsletters", **_ws(request))
    return redirect("rituals:newsletter", pk=issue.pk, **_ws(request))


def _editor(request, issue, form, *, status: int = 200):
    body = form.data.get("body_markdown", issue.body_markdown) if form.is_bound else None
    return render(
        request,
        "rituals/newsletter.html",
        {
            "issue": issue,
            "form": form,
            "preview": newsletter_lib.markdown_to_html(
                body if body is not None else issue.body_markdown
            ),
            "recipient_count": issue.recipients_count
            if issue.is_published
            else len(services.newsletter_recipients(request.workspace)),
            "title": issue.title,
        },
        status=status,
    )


@login_required
def newsletter(request, pk):
    issue = get_for(request, selectors.newsletters(request.workspace), pk)
    form = NewsletterForm(
        request.POST or None, initial={"title": issue.title, "body_markdown": issue.body_markdown}
    )
    if request.method == "POST":
        require_manage(request)
        if form.is_valid():
            try:
                services.newsletter_update(newsletter=issue, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Draft saved."))
                return redirect("rituals:newsletter", pk=issue.pk, **_ws(request))
        return _editor(request, issue, form, status=422)
    return _editor(request, issue, form)


@login_required
@require_POST
def newsletter_preview(request, pk):
    """The rendered preview of the posted text (htmx), or the editor with it (no script)."""
    issue = get_for(request, selectors.newsletters(request.workspace), pk)
    if not request.htmx:
        return _editor(request, issue, NewsletterForm(request.POST))
    html = newsletter_lib.markdown_to_html(request.POST.get("body_markdown", ""))
    response = render(request, "rituals/newsletter.html#preview", {"preview": html})
    response["Vary"] = "HX-Request"
    return response


@login_required
@require_POST
def newsletter_regenerate(request, pk):
    require_manage(request)
    issue = get_for(request, selectors.newsletters(request.workspace), pk)
    try:
        if request.POST.get("discard") == "1":
            services.newsletter_reset(newsletter=issue, by=request.user)
            messages.success(request, _("Regenerated from today's data; your edits were replaced."))
        else:
            issue = services.newsletter_draft(
                workspace=request.workspace, month=issue.month, by=request.user
            )
            if issue.is_edited:
                messages.success(
                    request,
                    _("Regenerated; your edited text was kept (the fresh text is below it)."),
                )
            else:
                messages.success(request, _("Regenerated from today's data."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("rituals:newsletter", pk=issue.pk, **_ws(request))


@login_required
@require_POST
def newsletter_publish(request, pk):
    require_manage(request)
    issue = get_for(request, selectors.newsletters(request.workspace), pk)
    try:
        issue = services.newsletter_publish(
            newsletter=issue,
            by=request.user,
            title=request.POST.get("title"),
            body_markdown=request.POST.get("body_markdown"),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("rituals:newsletter", pk=issue.pk, **_ws(request))
    messages.success(
        request,
        _("Published: in the archive and the feed, and on its way to %(n)d subscribers.")
        % {"n": issue.recipients_count},
    )
    return redirect(issue.get_archive_url())


@login_required
@require_POST
def feed_rotate(request):
    require_manage(request)
    services.newsletter_feed_rotate(workspace=request.workspace, by=request.user)
    messages.success(request, _("New feed address: the old one no longer works."))
    return redirect("rituals:newsletters", **_ws(request))


# --- newsletter (public to the workspace) -----------------------------------------------------


def _member_of(request, slug):
    """The workspace `slug` if the requester is a member; login redirect or 404 otherwise."""
    if not request.user.is_authenticated:
        return None, redirect_to_login(request.get_full_path())
    membership = (
        Membership.objects.select_related("workspace")
        .filter(workspace__slug=slug, user=request.user)
        .first()
    )
    if membership is None:
        raise Http404
    # the page then carries the workspace's navigation like any page inside it
    request.workspace, request.membership = membership.workspace, membership
    return membership.workspace, None


def news_archive(request, slug):
    workspace, redirect_response = _member_of(request, slug)
    if redirect_response:
        return redirect_response
    issues = selectors.published_newsletters(workspace)
    feed = services.newsletter_feed_key(workspace=workspace)
    return render(
        request,
        "rituals/news_archive.html",
        {
            "news_workspace": workspace,
            "issues": issues,
            "feed_url": settings.SITE_URL
            + reverse("rituals_public:news_feed", kwargs={"slug": slug})
            + f"?key={feed.key}",
            "title": _("%(name)s newsletter") % {"name": workspace.name},
        },
    )


def news_issue(request, slug, month):
    workspace, redirect_response = _member_of(request, slug)
    if redirect_response:
        return redirect_response
    try:
        first = newsletter_lib.parse_month(month)
    except ValueError as exc:
        raise Http404 from exc
    issue = selectors.published_newsletters(workspace).filter(month=first).first()
    if issue is None:
        raise Http404
    return render(
        request,
        "rituals/news_issue.html",
        {
            "news_workspace": workspace,
            "issue": issue,
            "body": newsletter_lib.markdown_to_html(issue.body_markdown),
            "title": issue.title,
        },
    )


def news_feed(request, slug):
    from quarterdeck.accounts.models import Workspace
    from quarterdeck.rituals.models import NewsletterFeed

    key = request.GET.get("key", "")
    workspace = None
    if key:
        feed = NewsletterFeed.objects.filter(key=key, workspace__slug=slug).select_related(
            "workspace"
        )
        workspace = feed.first().workspace if feed.exists() else None
    elif request.user.is_authenticated:
        workspace = Workspace.objects.filter(slug=slug, memberships__user=request.user).first()
    if workspace is None:
        raise Http404
    feed_url = settings.SITE_URL + request.get_full_path()
    body = feeds.newsletter_atom(
        workspace,
        selectors.published_newsletters(workspace)[:24],
        feed_url=feed_url,
        link=settings.SITE_URL + reverse("rituals_public:news_archive", kwargs={"slug": slug}),
    )
    return HttpResponse(body, content_type="application/atom+xml; charset=utf-8")


@csrf_exempt
def unsubscribe(request, token):
    """One click, no login: GET (the link) or POST (RFC 8058 from the mail client) unsubscribes;
    the page's button resubscribes."""
    if request.method == "POST" and request.POST.get("action") == "resubscribe":
        ok = services.newsletter_resubscribe(token=token)
        return render(
            request,
            "rituals/unsubscribe.html",
            {"resubscribed": ok, "token": token, "title": _("Newsletter")},
            status=200 if ok else 400,
        )
    optout = services.newsletter_unsubscribe(token=token)
    if optout is None:
        return render(
            request,
            "rituals/unsubscribe.html",
            {"invalid": True, "title": _("Newsletter")},
            status=400,
        )
    return render(
        request,
        "rituals/unsubscribe.html",
        {"optout": optout, "token": token, "title": _("Newsletter")},
    )
