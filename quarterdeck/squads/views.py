"""Squad pages: the list, one squad, create/edit, and its members."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from quarterdeck.core.access import get_for, require_manage
from quarterdeck.core.forms import apply_errors
from quarterdeck.squads import selectors, services
from quarterdeck.squads.forms import MemberForm, SquadForm
from quarterdeck.squads.models import Squad, SquadMember


@login_required
def squad_list(request):
    items = list(selectors.squads(request.workspace))
    for squad in items:
        squad.roles = selectors.members_by_role(squad)
    return render(request, "squads/list.html", {"squads": items, "title": _("Squads")})


def _detail(request, squad, *, member_form=None, status=200):
    from quarterdeck.strategy.selectors import current_quarter

    quarter = request.GET.get("q") or current_quarter()
    return render(
        request,
        "squads/detail.html",
        {
            "squad": squad,
            "roles": selectors.members_by_role(squad),
            "quarter": quarter,
            "objectives": selectors.squad_objectives(squad, quarter=quarter),
            "features_by_status": selectors.squad_features_by_status(squad),
            "member_form": member_form or MemberForm(workspace=request.workspace),
            "title": squad.name,
        },
        status=status,
    )


def _get_squad(request, pk) -> Squad:
    try:
        return selectors.squad_detail(request.workspace, pk)
    except (Squad.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


@login_required
def squad_detail(request, pk):
    return _detail(request, _get_squad(request, pk))


@login_required
@require_http_methods(["GET", "POST"])
def squad_new(request):
    require_manage(request)
    form = SquadForm(request.POST or None, workspace=request.workspace)
    if request.method == "POST" and form.is_valid():
        try:
            squad = services.squad_create(
                workspace=request.workspace, by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Squad created. Add its members."))
            return redirect("squads:detail", ws=request.workspace.slug, pk=squad.pk)
    return render(
        request,
        "squads/form.html",
        {"form": form, "title": _("New squad")},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def squad_edit(request, pk):
    require_manage(request)
    squad = get_for(request, Squad.objects.select_related("product_manager"), pk)
    initial = {f: getattr(squad, f) for f in services.SQUAD_FIELDS}
    form = SquadForm(request.POST or None, workspace=request.workspace, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.squad_update(squad=squad, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Squad saved."))
            return redirect("squads:detail", ws=request.workspace.slug, pk=squad.pk)
    return render(
        request,
        "squads/form.html",
        {"form": form, "squad": squad, "title": _("Edit squad")},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def member_add(request, pk):
    require_manage(request)
    squad = _get_squad(request, pk)
    form = MemberForm(request.POST, workspace=request.workspace)
    if form.is_valid():
        try:
            services.squad_member_add(squad=squad, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Member added."))
            return redirect("squads:detail", ws=request.workspace.slug, pk=squad.pk)
    return _detail(request, squad, member_form=form, status=400)


@login_required
@require_POST
def member_remove(request, pk, member_pk):
    require_manage(request)
    squad = get_for(request, Squad.objects.all(), pk)
    member = SquadMember.objects.filter(squad=squad, pk=member_pk).select_related("user").first()
    if member is None:
        raise Http404
    services.squad_member_remove(member=member, by=request.user)
    messages.success(request, _("%(who)s left the squad.") % {"who": member.user.display_name})
    return redirect("squads:detail", ws=request.workspace.slug, pk=squad.pk)
