from django.apps import AppConfig


class SubjectsConfig(AppConfig):
    name = "haven.subjects"
    label = "subjects"
