"""Pages of notify: the notifications inbox and bell, follow buttons, webhooks, unsubscribe."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from quarterdeck.backlog.models import Feature
from quarterdeck.core.access import get_for
from quarterdeck.core.pagination import paginate
from quarterdeck.insights.models import Need
from quarterdeck.notify import selectors, services
from quarterdeck.notify.models import Delivery, EventKind, Frequency, Notification, Webhook

FOLLOWABLE = {"feature": Feature, "need": Need}


def _back(request, fallback: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, {request.get_host()}):
        return nxt
    return fallback


@login_required
@require_GET
@vary_on_headers("HX-Request")
def inbox(request):
    unread_only = request.GET.get("show") == "unread"
    page = paginate(
        request, selectors.inbox(request.user, request.workspace, unread_only=unread_only)
    )
    context = {
        "page": page,
        "unread_only": unread_only,
        "unread": selectors.unread_count(request.user, request.workspace),
        "frequency": selectors.email_frequency(request.workspace, user=request.user),
        "frequencies": Frequency.choices,
        "title": _("Notifications"),
    }
    if request.htmx:
        return render(request, "notify/inbox.html#list", context)
    return render(request, "notify/inbox.html", context)


@login_required
@require_POST
def mark_read(request, pk):
    notification = get_for(
        request, Notification.objects.filter(user=request.user).select_related("feature"), pk
    )
    read = request.POST.get("read", "1") != "0"
    services.notification_mark_read(notification=notification, read=read)
    if request.htmx:
        response = render(request, "notify/inbox.html#item", {"n": notification})
        response["HX-Trigger"] = "notifications-changed"
        return response
    if request.POST.get("open"):
        return redirect(notification.feature.get_absolute_url())
    return redirect(_back(request, _inbox_url(request)))


@login_required
@require_POST
def mark_all_read(request):
    count = services.notifications_mark_all_read(user=request.user, workspace=request.workspace)
    messages.success(request, _("%(n)d notifications marked as read.") % {"n": count})
    return redirect(_back(request, _inbox_url(request)))


@login_required
@require_POST
def preferences(request):
    try:
        services.preference_set(
            workspace=request.workspace,
            user=request.user,
            email_frequency=request.POST.get("email_frequency", ""),
            by=request.user,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Email preference saved."))
    return redirect(_back(request, _inbox_url(request)))


def _inbox_url(request) -> str:
    from django.urls import reverse

    return reverse("notify:inbox", kwargs={"ws": request.workspace.slug})


@login_required
@require_POST
def follow(request, kind, pk):
    """Follow or unfollow a feature or need (any member may: it only concerns themselves)."""
    model = FOLLOWABLE.get(kind)
    if model is None:
        raise Http404
    target = get_for(request, model.objects.all(), pk)
    following = request.POST.get("follow") == "1"
    services.subscription_set(
        target=target, following=following, user=request.user, by=request.user
    )
    if request.htmx:
        return render(request, "notify/_follow_button.html", {"target": target})
    messages.success(
        request,
        _("You follow “%(t)s”.") % {"t": target}
        if following
        else _("You no longer follow “%(t)s”.") % {"t": target},
    )
    return redirect(_back(request, target.get_absolute_url()))


@login_required
@require_GET
def bell(request):
    unread = selectors.unread_count(request.user, request.workspace)
    return render(request, "notify/_bell.html", {"unread": unread})


def _require_admin(request) -> None:
    if not request.membership.is_admin:
        raise PermissionDenied


@login_required
@require_http_methods(["GET", "POST"])
def webhook_list(request):
    """Admins add outgoing webhooks and see how their deliveries went."""
    _require_admin(request)
    errors, values = {}, {}
    if request.method == "POST":
        values = {
            "url": request.POST.get("url", ""),
            "description": request.POST.get("description", ""),
            "events": request.POST.getlist("events"),
        }
        try:
            hook = services.webhook_create(workspace=request.workspace, by=request.user, **values)
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, _("Webhook added. Its signing secret is on its page."))
            return redirect(hook.get_absolute_url())
    hooks = list(selectors.webhooks(request.workspace))
    states = selectors.latest_states(h.pk for h in hooks)
    for hook in hooks:
        hook.state_counts = states.get(hook.pk, {})
    return render(
        request,
        "notify/webhooks.html",
        {
            "hooks": hooks,
            "errors": errors,
            "values": values,
            "kinds": EventKind.choices,
            "title": _("Webhooks"),
        },
        status=400 if errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def webhook_detail(request, pk):
    _require_admin(request)
    hook = get_for(request, Webhook.objects.select_related("created_by"), pk)
    if request.method == "POST":
        active = request.POST.get("active") == "1"
        services.webhook_update(webhook=hook, active=active, by=request.user)
        messages.success(request, _("Webhook enabled.") if active else _("Webhook disabled."))
        return redirect(hook.get_absolute_url())
    page = paginate(request, selectors.webhook_deliveries(hook), per_page=25)
    return render(
        request,
        "notify/webhook.html",
        {"hook": hook, "page": page, "title": _("Webhook"), "kinds": dict(EventKind.choices)},
    )


@login_required
@require_POST
def redeliver(request, pk, delivery):
    _require_admin(request)
    hook = get_for(request, Webhook.objects.all(), pk)
    row = Delivery.objects.filter(webhook=hook, pk=delivery).first()
    if row is None:
        raise Http404
    services.delivery_redeliver(delivery=row, by=request.user)
    messages.success(request, _("Delivery %(n)s queued again.") % {"n": row.pk})
    return redirect(hook.get_absolute_url())


@csrf_exempt  # the signed token is the credential; mail clients POST one-click unsubscribes
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """One click, no login: GET unsubscribes from the feature named in the link (with Undo);
    POST from a mail client (RFC 8058) does the same; the page's buttons widen or undo it."""
    action = (
        request.POST.get("action", "unsubscribe") if request.method == "POST" else "unsubscribe"
    )
    scope = request.POST.get("scope", "feature")
    if scope not in ("feature", "all") or action not in ("unsubscribe", "resubscribe"):
        return HttpResponse(_("Unknown action."), status=400, content_type="text/plain")
    try:
        if action == "resubscribe":
            target = services.resubscribe(token=token, scope=scope)
        else:
            target = services.unsubscribe(token=token, scope=scope)
    except ValidationError as exc:
        return render(
            request,
            "notify/unsubscribe.html",
            {"error": " ".join(exc.messages), "title": _("Unsubscribe")},
            status=400,
        )
    return render(
        request,
        "notify/unsubscribe.html",
        {
            "target": target,
            "token": token,
            "action": action,
            "scope": scope if target.feature is not None else "all",
            "title": _("Unsubscribe"),
        },
    )
