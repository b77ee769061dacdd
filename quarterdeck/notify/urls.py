from django.urls import path

from quarterdeck.notify import views

app_name = "notify"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/read/", views.mark_read, name="mark_read"),
    path("read-all/", views.mark_all_read, name="mark_all_read"),
    path("preferences/", views.preferences, name="preferences"),
    path("bell/", views.bell, name="bell"),
    path("follow/<str:kind>/<int:pk>/", views.follow, name="follow"),
    path("webhooks/", views.webhook_list, name="webhooks"),
    path("webhooks/<int:pk>/", views.webhook_detail, name="webhook"),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery>/redeliver/",
        views.redeliver,
        name="redeliver",
    ),
]
