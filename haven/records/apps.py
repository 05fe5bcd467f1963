from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "haven.records"
    label = "records"
