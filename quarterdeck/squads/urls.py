from django.urls import path

from quarterdeck.squads import views

app_name = "squads"
urlpatterns = [
    path("", views.squad_list, name="list"),
    path("new/", views.squad_new, name="new"),
    path("<int:pk>/", views.squad_detail, name="detail"),
    path("<int:pk>/edit/", views.squad_edit, name="edit"),
    path("<int:pk>/members/", views.member_add, name="member_add"),
    path("<int:pk>/members/<int:member_pk>/remove/", views.member_remove, name="member_remove"),
]
