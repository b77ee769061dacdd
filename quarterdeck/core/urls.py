from django.urls import path

from quarterdeck.core import views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("activity/", views.activity, name="activity"),
]
