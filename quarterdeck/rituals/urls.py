app_name = "rituals"
urlpatterns: list = []
