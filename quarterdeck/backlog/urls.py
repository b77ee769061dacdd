from django.urls import path

from quarterdeck.backlog import views

app_name = "backlog"
urlpatterns = [
    path("", views.backlog, name="list"),
    path("board/", views.board, name="board"),
    path("board/<int:pk>/move/", views.board_move, name="board_move"),
    path("new/", views.feature_new, name="feature_new"),
    path("requests/", views.my_requests, name="my_requests"),
    path("requests/<int:rid>/answer/", views.request_answer, name="request_answer"),
    path("<int:pk>/", views.feature, name="feature"),
    path("<int:pk>/edit/", views.feature_edit, name="feature_edit"),
    path("<int:pk>/transition/", views.transition, name="transition"),
    path("<int:pk>/slices/", views.slice_create, name="slice_create"),
    path("<int:pk>/evaluations/", views.evaluation_create, name="evaluation_create"),
    path(
        "<int:pk>/evaluation-requests/",
        views.evaluation_request_create,
        name="evaluation_request_create",
    ),
    path(
        "<int:pk>/evaluation-requests/<int:rid>/cancel/",
        views.evaluation_request_cancel,
        name="evaluation_request_cancel",
    ),
    path("<int:pk>/ux-tests/", views.ux_test_create, name="ux_test_create"),
    path("<int:pk>/ux-tests/<int:tid>/verdict/", views.ux_test_verdict, name="ux_test_verdict"),
    path("<int:pk>/qa/", views.qa_check_create, name="qa_check_create"),
    path("<int:pk>/qa/from-outcomes/", views.qa_from_outcomes, name="qa_from_outcomes"),
    path("<int:pk>/qa/<int:cid>/", views.qa_check_update, name="qa_check_update"),
    path("<int:pk>/demos/", views.demo_create, name="demo_create"),
    path("<int:pk>/rollout/", views.rollout_stage_create, name="rollout_stage_create"),
    path("<int:pk>/rollout/<int:sid>/", views.rollout_stage_update, name="rollout_stage_update"),
    path("<int:pk>/comms/", views.comms_create, name="comms_create"),
    path("<int:pk>/comms/<int:cid>/", views.comms_update, name="comms_update"),
    path("<int:pk>/onboarding/", views.onboarding_create, name="onboarding_create"),
    path(
        "<int:pk>/onboarding/<int:sid>/delete/",
        views.onboarding_delete,
        name="onboarding_delete",
    ),
]
