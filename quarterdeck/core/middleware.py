"""Resolves the workspace named in the URL (`/w/<ws>/…`) and the requester's membership."""

from django.contrib.auth.views import redirect_to_login
from django.http import Http404

from quarterdeck.accounts.models import Membership


class WorkspaceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.workspace = None
        request.membership = None
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.pop("ws", None)
        if slug is None:
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = (
            Membership.objects.select_related("workspace")
            .filter(workspace__slug=slug, user=request.user)
            .first()
        )
        if membership is None:
            raise Http404("No such workspace")
        request.workspace = membership.workspace
        request.membership = membership
        return None
