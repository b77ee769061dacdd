"""Pages that work without login: the one-click unsubscribe link of every update email."""

from django.urls import path

from quarterdeck.notify import views

app_name = "notify_public"
urlpatterns = [
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
