from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "quarterdeck.notify"
    label = "notify"
