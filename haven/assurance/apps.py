from django.apps import AppConfig


class AssuranceConfig(AppConfig):
    name = "haven.assurance"
    label = "assurance"
