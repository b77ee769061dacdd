from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "quarterdeck.api"
    label = "api"
