from django.apps import AppConfig


class SquadsConfig(AppConfig):
    name = "quarterdeck.squads"
    label = "squads"
