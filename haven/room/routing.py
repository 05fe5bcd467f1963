from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import path, re_path

from haven.room.consumers import MeetingConsumer

CLOSE_NOT_FOUND = 4404


class NoSuchSocket(AsyncWebsocketConsumer):  # type: ignore[misc]
    """Any WebSocket path that is not a meeting's (`/ws/meetings/..%2f..%2fadmin/`):
    refused before the handshake with HTTP 404 (Channels' router would raise "No route
    found", which the server answered with HTTP 500 and a traceback). A server without
    the ASGI HTTP-response extension gets a close with 4404 instead (HTTP 403)."""

    async def connect(self) -> None:
        if "websocket.http.response" not in self.scope.get("extensions", {}):
            await self.close(code=CLOSE_NOT_FOUND)
            return
        body = b"There is no such page.\n"
        await self.send_response(404, body)

    async def send_response(self, status: int, body: bytes) -> None:
        start: dict[str, Any] = {
            "type": "websocket.http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
        await self.base_send(start)
        await self.base_send({"type": "websocket.http.response.body", "body": body})


websocket_urlpatterns = [
    path("ws/meetings/<str:meeting_id>/", MeetingConsumer.as_asgi()),
    re_path(r"", NoSuchSocket.as_asgi()),  # last: everything else
]
