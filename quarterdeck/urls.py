from django.contrib import admin
from django.urls import include, path, re_path

from quarterdeck.api.base import api_not_found
from quarterdeck.api.routes import api
from quarterdeck.core import views as core_views

ws = "w/<slug:ws>/"

urlpatterns = [
    path("", core_views.root, name="root"),
    path("admin/", admin.site.urls),
    path("accounts/", include("quarterdeck.accounts.urls")),
    path("api/v1/", api.urls),
    re_path(r"^api/v1/", api_not_found),
    path(ws, include("quarterdeck.core.urls")),
    path(ws + "insights/", include("quarterdeck.insights.urls")),
    path(ws + "import/", include("quarterdeck.insights.import_urls")),
    path(ws + "features/", include("quarterdeck.backlog.urls")),
    path(ws + "strategy/", include("quarterdeck.strategy.urls")),
    path(ws + "squads/", include("quarterdeck.squads.urls")),
    path(ws + "rituals/", include("quarterdeck.rituals.urls")),
    path(ws + "notify/", include("quarterdeck.notify.urls")),
    path(ws + "linking/", include("quarterdeck.linking.urls")),
    path("", include("quarterdeck.rituals.public_urls")),
    path("", include("quarterdeck.notify.public_urls")),
]
