from django.apps import AppConfig


class RitualsConfig(AppConfig):
    name = "quarterdeck.rituals"
    label = "rituals"
