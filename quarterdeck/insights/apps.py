from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "quarterdeck.insights"
    label = "insights"
