from django.apps import AppConfig


class RoomConfig(AppConfig):
    name = "haven.room"
    label = "room"
