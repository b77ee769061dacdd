"""Vectors, link suggestions, duplicate groups and themes."""

from django.urls import path

from quarterdeck.linking import views

app_name = "linking"
urlpatterns = [
    path("suggestions/<int:pk>/", views.suggestions, name="suggestions"),
    path("suggestions/<int:pk>/accept/", views.accept, name="accept"),
    path("suggestions/<int:pk>/dismiss/", views.dismiss, name="dismiss"),
    path("progress/", views.progress, name="progress"),
    path("search/", views.search, name="search"),
    path("duplicates/", views.duplicates, name="duplicates"),
    path("duplicates/<int:pk>/ungroup/", views.ungroup, name="ungroup"),
    path("themes/", views.themes, name="themes"),
    path("themes/recompute/", views.themes_recompute, name="themes_recompute"),
    path("themes/<int:pk>/need/", views.theme_to_need, name="theme_to_need"),
]
