from django.urls import path

from quarterdeck.strategy import views

app_name = "strategy"
urlpatterns = [
    path("okrs/", views.okrs, name="okrs"),
    path("objectives/new/", views.objective_new, name="objective_new"),
    path("objectives/<int:pk>/", views.objective, name="objective"),
    path("objectives/<int:pk>/edit/", views.objective_edit, name="objective_edit"),
    path("objectives/<int:pk>/key-results/new/", views.key_result_new, name="key_result_new"),
    path("key-results/<int:pk>/", views.key_result, name="key_result"),
    path("key-results/<int:pk>/edit/", views.key_result_edit, name="key_result_edit"),
    path("key-results/<int:pk>/check-in/", views.checkin, name="checkin"),
    path("key-results/<int:pk>/check-ins.csv", views.checkin_csv, name="checkin_csv"),
    path("drivers/", views.drivers, name="drivers"),
    path("drivers/<int:pk>/", views.driver_edit, name="driver_edit"),
]
urlpatterns += [
    path("matrix/", views.matrix, name="matrix"),
    path("matrix/what-if/", views.what_if, name="what_if"),
    path("matrix/weights/", views.weights_save, name="weights_save"),
    path("scoring/", views.scoring_settings, name="scoring"),
    path("features/<int:pk>/score/", views.feature_score, name="feature_score"),
    path("features/<int:pk>/measure/", views.feature_measure, name="feature_measure"),
]
