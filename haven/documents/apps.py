from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    """Documents the host emails to people invited (rule S4). No models: nothing is kept."""

    name = "haven.documents"
    label = "documents"
