"""Pages outside a workspace URL: share links and feeds (token in the URL), the newsletter
archive (members of the workspace) and the newsletter's one-click unsubscribe link."""

from django.urls import path

from quarterdeck.rituals import views

app_name = "rituals_public"
urlpatterns = [
    path("roadmap/<str:token>/", views.shared_roadmap, name="roadmap"),
    path("ical/<str:token>.ics", views.ical, name="ical"),
    path("news/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("news/<slug:slug>/", views.news_archive, name="news_archive"),
    path("news/<slug:slug>/feed.atom", views.news_feed, name="news_feed"),
    path("news/<slug:slug>/<str:month>/", views.news_issue, name="news_issue"),
]
