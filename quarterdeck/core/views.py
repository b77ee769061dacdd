from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from quarterdeck.accounts.models import Membership
from quarterdeck.core import selectors
from quarterdeck.core.pagination import paginate


def root(request):
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    membership = Membership.objects.filter(user=request.user).select_related("workspace").first()
    if membership is None:
        return render(request, "core/no_workspace.html", {"title": _("No workspace yet")})
    return redirect("core:home", ws=membership.workspace.slug)


@login_required
def home(request):
    return render(request, "core/home.html", selectors.attention(request.workspace))


@login_required
def activity(request):
    page = paginate(request, selectors.activity_feed(request.workspace))
    return render(request, "core/activity.html", {"page": page})
