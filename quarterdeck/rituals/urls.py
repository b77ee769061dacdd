from django.urls import path

from quarterdeck.rituals import views

app_name = "rituals"
urlpatterns = [
    path("meetings/", views.meetings, name="meetings"),
    path("meetings/new/", views.meeting_new, name="meeting_new"),
    path("meetings/<int:pk>/", views.meeting, name="meeting"),
    path("meetings/<int:pk>/notes/", views.meeting_notes, name="meeting_notes"),
    path("meetings/<int:pk>/agenda/", views.meeting_agenda, name="meeting_agenda"),
    path("meetings/<int:pk>/decisions/", views.meeting_decide, name="meeting_decide"),
    path("meetings/<int:pk>/minutes/", views.meeting_minutes, name="meeting_minutes"),
    path("meetings/<int:pk>/evaluations/", views.meeting_evaluation, name="meeting_evaluation"),
    path("flags/", views.flag_new, name="flag_new"),
    path("roadmap/", views.roadmap, name="roadmap"),
    path("roadmap/share/", views.share_new, name="share_new"),
    path("shares/<int:pk>/revoke/", views.share_revoke, name="share_revoke"),
    path("newsletters/", views.newsletters, name="newsletters"),
    path("newsletters/draft/", views.newsletter_draft, name="newsletter_draft"),
    path("newsletters/feed/rotate/", views.feed_rotate, name="feed_rotate"),
    path("newsletters/<int:pk>/", views.newsletter, name="newsletter"),
    path("newsletters/<int:pk>/preview/", views.newsletter_preview, name="newsletter_preview"),
    path(
        "newsletters/<int:pk>/regenerate/",
        views.newsletter_regenerate,
        name="newsletter_regenerate",
    ),
    path("newsletters/<int:pk>/publish/", views.newsletter_publish, name="newsletter_publish"),
]
