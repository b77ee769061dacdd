from django.urls import path

from quarterdeck.insights import views

app_name = "insights"
urlpatterns = [
    path("", views.to_inbox),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/new/", views.insight_new, name="insight_new"),
    path("inbox/<int:pk>/", views.detail, name="detail"),
    path("inbox/<int:pk>/edit/", views.insight_edit, name="insight_edit"),
    path("inbox/<int:pk>/link/", views.link, name="link"),
    path("inbox/<int:pk>/archive/", views.archive, name="archive"),
    path("inbox/<int:pk>/unarchive/", views.unarchive, name="unarchive"),
    path("links/<int:pk>/unlink/", views.unlink, name="unlink"),
    path("needs/", views.needs, name="needs"),
    path("needs/new/", views.need_new, name="need_new"),
    path("needs/search/", views.need_search, name="need_search"),
    path("needs/<int:pk>/", views.need, name="need"),
    path("needs/<int:pk>/edit/", views.need_edit, name="need_edit"),
    path("needs/<int:pk>/state/", views.need_state, name="need_state"),
    path("stakeholders/", views.stakeholders, name="stakeholders"),
    path("stakeholders/<int:pk>/", views.stakeholder, name="stakeholder"),
]
