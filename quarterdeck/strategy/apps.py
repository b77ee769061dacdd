from django.apps import AppConfig


class StrategyConfig(AppConfig):
    name = "quarterdeck.strategy"
    label = "strategy"
