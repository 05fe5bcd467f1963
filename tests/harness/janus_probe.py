"""Janus's own view of a meeting's media room, for tests: what Janus itself says happened.

A probe joins the meeting's VideoRoom as one more (silent, never publishing) participant,
with a token of its own added to the room's list, and hears what Janus tells everyone in
the room: that a feed was muted or unmuted by moderation (rule V3), for instance. Haven's
own log of what it sent (stack.media_requests) says what Haven asked; this says what
Janus did.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
import time
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from haven.media.gateway import room_id_for
from tests.harness.netns import run_in_namespace
from tests.harness.stack import Stack

PLUGIN = "janus.plugin.videoroom"


def room_secret(admin_key: str, room_key: str) -> str:
    """The room's secret, derived as MediaGateway._room_secret derives it (if that ever
    changes, the probe's `allowed` is refused and the test says so)."""
    label = b"haven-room-secret:" + room_key.encode("utf-8")
    return hmac.new(admin_key.encode("utf-8"), label, hashlib.sha256).hexdigest()


class JanusProbe:
    """One silent participant in a meeting's media room (see the module docstring)."""

    def __init__(self, ws: ClientConnection, api_secret: str) -> None:
        self._ws = ws
        self._api_secret = api_secret
        self.events: list[dict[str, Any]] = []
        # The feeds whose media is up, as Janus listed them to the probe when it joined.
        self.publishers: list[dict[str, Any]] = []
        self._ids: dict[str, int] = {}

    @classmethod
    def join(cls, stack: Stack, meeting_id: str) -> JanusProbe:
        """Join the meeting's room on the stack's (first) Janus; the room must exist."""
        settings = stack.janus
        ws = run_in_namespace(
            stack.namespace,
            lambda: connect(
                settings.api_url,
                subprotocols=[Subprotocol("janus-protocol")],
                open_timeout=5,
                proxy=None,
                legacy=True,  # a long-lived connection closed by close()
            ),
        )
        probe = cls(ws, settings.api_secret)
        room_key = f"meeting-{uuid.UUID(meeting_id)}"
        room = room_id_for(room_key)
        session = probe._send({"janus": "create"})["data"]["id"]
        handle = probe._send({"janus": "attach", "session_id": session, "plugin": PLUGIN})
        probe._ids = {"session_id": session, "handle_id": handle["data"]["id"]}
        token = secrets.token_urlsafe(16)
        allowed = probe._request(
            {
                "request": "allowed",
                "secret": room_secret(settings.admin_key, room_key),
                "room": room,
                "action": "add",
                "allowed": [token],
            }
        )
        assert allowed.get("videoroom") == "success", allowed
        body = {"request": "join", "ptype": "publisher", "room": room, "token": token}
        joined = probe._request({**body, "display": "test probe"})
        assert joined.get("videoroom") == "joined", joined
        probe.publishers = joined.get("publishers", [])
        return probe

    def audio_moderated(self, display: str, kind: str = "audio") -> bool:
        """Whether Janus listed the audio (or `kind`: "video") of `display`'s feed as muted
        by moderation when the probe joined (Janus lists only feeds whose media is up)."""
        feeds = [p for p in self.publishers if p.get("display") == display]
        assert len(feeds) == 1, f"Janus lists {len(feeds)} feeds of {display}"
        streams = [s for s in feeds[0].get("streams", []) if s.get("type") == kind]
        assert len(streams) == 1, feeds[0]
        return bool(streams[0].get("moderated", False))

    def _send(self, message: dict[str, Any]) -> dict[str, Any]:
        transaction = secrets.token_hex(6)
        self._ws.send(
            json.dumps({**message, "transaction": transaction, "apisecret": self._api_secret})
        )
        while True:
            reply = self._receive(5)
            if reply.get("transaction") == transaction and reply["janus"] != "ack":
                return reply

    def _request(self, body: dict[str, Any]) -> dict[str, Any]:
        reply = self._send({"janus": "message", **self._ids, "body": body})
        data: dict[str, Any] = reply["plugindata"]["data"]
        return data

    def _receive(self, timeout: float) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self._ws.recv(timeout=timeout))
        data = message.get("plugindata", {}).get("data", {})
        if message.get("janus") == "event" and "transaction" not in message:
            self.events.append(data)
        return message

    def moderation(self, feed_id: int, timeout: float = 10, mid: str | None = None) -> str:
        """Wait for Janus to say it muted or unmuted a stream of `feed_id` (the one with
        `mid`, if given); return which ("muted" or "unmuted"): the first such word not
        read yet."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if mid is not None and event.get("mid") != mid:
                    continue
                if event.get("id") == feed_id and "moderation" in event and not event.get("_read"):
                    event["_read"] = True
                    return str(event["moderation"])
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"Janus said nothing of moderating feed {feed_id}")
            try:
                self._receive(min(left, 1.0))
            except TimeoutError:
                continue

    def no_moderation(self, feed_id: int, seconds: float = 1.5) -> None:
        """Janus says nothing of moderating `feed_id` for a while."""
        try:
            word = self.moderation(feed_id, seconds)
        except AssertionError:
            return
        raise AssertionError(f"Janus said feed {feed_id} was {word}")

    def close(self) -> None:
        # Closing the connection ends the probe's session too; the destroy is courtesy,
        # and fails harmlessly if Janus is gone already.
        with contextlib.suppress(OSError, TimeoutError, KeyError, ConnectionClosed):
            self._send({"janus": "destroy", "session_id": self._ids["session_id"]})
        self._ws.close()
