from django.apps import AppConfig


class LinkingConfig(AppConfig):
    name = "quarterdeck.linking"
    label = "linking"
