from django.urls import path

from quarterdeck.insights import import_views as views

app_name = "importing"
urlpatterns = [
    path("", views.start, name="start"),
    path("template.csv", views.template, name="template"),
    path("<str:token>/", views.preview, name="preview"),
    path("<str:token>/confirm/", views.confirm, name="confirm"),
    path("<str:token>/done/", views.done, name="done"),
]
