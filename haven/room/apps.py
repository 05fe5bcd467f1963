from typing import Any

from django.apps import AppConfig
from django.core.signals import request_finished
from django.db import connections


def close_request_connections(**kwargs: Any) -> None:
    """Close the database connections a page request opened, in its own thread.

    SQLite connections are kept open (settings: CONN_MAX_AGE None) for the meeting
    connections, whose database calls all run in one long-lived thread. Under ASGI each
    page request runs in a thread of its own, so its connection would outlive the thread,
    still open: 600 requests left about 25 connections (70 file descriptors) behind.
    """
    connections.close_all()


class RoomConfig(AppConfig):
    name = "haven.room"
    label = "room"

    def ready(self) -> None:
        request_finished.connect(close_request_connections, dispatch_uid="haven-close-request-db")
