from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "quarterdeck.accounts"
    label = "accounts"
