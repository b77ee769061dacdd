from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "quarterdeck.core"
    label = "core"
