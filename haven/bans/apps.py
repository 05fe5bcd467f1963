from django.apps import AppConfig


class BansConfig(AppConfig):
    name = "haven.bans"
    label = "bans"
