from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "haven.records"
    label = "records"

    def ready(self) -> None:
        from haven.records import checks  # noqa: F401  (registers the deploy checks)
