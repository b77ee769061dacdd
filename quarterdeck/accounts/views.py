from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from quarterdeck.accounts import services
from quarterdeck.accounts.forms import TokenForm
from quarterdeck.accounts.models import ApiToken, Membership


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request, slug):
    """The requester's own API tokens for one workspace."""
    membership = (
        Membership.objects.select_related("workspace")
        .filter(workspace__slug=slug, user=request.user)
        .first()
    )
    if membership is None:
        raise Http404
    workspace = membership.workspace
    new_key = None
    form = TokenForm(request.POST or None)
    if request.method == "POST":
        if "revoke" in request.POST:
            token = ApiToken.objects.filter(
                workspace=workspace, user=request.user, pk=request.POST.get("revoke")
            ).first()
            if token is None:
                raise Http404
            services.token_revoke(token=token, by=request.user)
            messages.success(request, _("Token revoked."))
            return redirect("accounts:tokens", slug=slug)
        if form.is_valid():
            _token, new_key = services.token_create(
                workspace=workspace, user=request.user, name=form.cleaned_data["name"]
            )
            form = TokenForm()
    request.workspace, request.membership = workspace, membership
    items = ApiToken.objects.filter(workspace=workspace, user=request.user)
    return render(
        request,
        "accounts/tokens.html",
        {"tokens": items, "form": form, "new_key": new_key, "workspace": workspace},
    )
