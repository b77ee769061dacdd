from django.apps import AppConfig


class BacklogConfig(AppConfig):
    name = "quarterdeck.backlog"
    label = "backlog"
