"""The media gateway: the only part of Haven that knows VideoRoom request shapes.

The rest of Haven speaks in rooms (by Haven's own room key), participants, feeds, SDP
and ICE candidates; another SFU could stand behind the same interface. Errors come out
as ``MediaError`` subclasses, never as Janus exceptions.

Rooms are created with recording off and locked, a publishers cap, private, with a room
secret, and with the token ACL on (``allowed`` starts empty): a participant can only join
with a token that Haven has allowed first. Subscriptions must carry the private id of a
joined participant (``require_pvtid``), so the ACL covers subscribers too.

Neither the room secret nor the admin key ever appears in a log line or an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from haven.media.janus import (
    JanusClient,
    JanusClientError,
    JanusError,
    JanusHandle,
    JanusSession,
    JanusTimeout,
)

log = logging.getLogger(__name__)

# VideoRoom error codes this module acts on.
NO_SUCH_ROOM = 426
ROOM_EXISTS = 427
NOT_PUBLISHED = 435

# Teardown must not hang on a Janus that stopped answering.
TEARDOWN_TIMEOUT = 3.0
# Every room is created with the media server's recording off and locked off (rule S7);
# the compliance evidence page quotes this (haven/audit/evidence.py).
RECORDING_OFF: dict[str, bool] = {"record": False, "lock_record": True}

ResetListener = Callable[[], Awaitable[None]]


class MediaError(Exception):
    """Something went wrong in the media server."""


class MediaUnavailable(MediaError):
    """The media server cannot be reached (or did not answer); try again later."""


class MediaRefused(MediaError):
    """The media server refused a request (``code`` is the SFU's own error code)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"media server refused the request ({code}): {reason}")
        self.code = code
        self.reason = reason


@contextlib.contextmanager
def _media_errors() -> Iterator[None]:
    """Translate Janus client exceptions into MediaError ones."""
    try:
        yield
    except JanusError as exc:
        raise MediaRefused(exc.code, exc.reason) from None
    except JanusClientError as exc:
        raise MediaUnavailable(str(exc)) from None


@dataclass(frozen=True)
class MediaEvent:
    """Something the media server said about one of a participant's connections.

    ``target`` is None for the participant's own (publishing) connection, or the feed id
    of a subscription. ``kind`` is one of: connected, disconnected, media, slowlink,
    feeds_added, feed_removed (may come more than once for one feed), kicked,
    room_closed, gone (the connection no longer exists), other.
    """

    kind: str
    target: int | None
    detail: dict[str, Any] = field(default_factory=dict)
    # For the participant's own connections (target None): "camera" or "screen".
    source: str = "camera"


MediaEventCallback = Callable[[MediaEvent], Awaitable[None]]


@dataclass
class _Room:
    room_id: int
    secret: str = field(repr=False)
    max_publishers: int


def room_id_for(room_key: str) -> int:
    """A stable numeric VideoRoom id for Haven's room key (48 bits, never 0)."""
    digest = hashlib.sha256(b"haven-room:" + room_key.encode("utf-8")).digest()
    return int.from_bytes(digest[:6], "big") or 1


class MediaGateway:
    """Rooms and participants on one Janus server.

    Wire the client's reset to this gateway: if ``client.on_reset`` is still None, the
    gateway installs its own ``reset``. Listeners added with ``add_reset_listener`` run
    after every reset, so Haven can recreate rooms, re-allow tokens and tell browsers
    that their media must reconnect.
    """

    def __init__(self, client: JanusClient, admin_key: str) -> None:
        self.client = client
        self._admin_key = admin_key
        self._rooms: dict[str, _Room] = {}
        self._room_keys_by_id: dict[int, str] = {}
        self._listeners: list[ResetListener] = []
        self._control: JanusHandle | None = None
        # One lock per room being made: a room already made needs none, and making one
        # room (a Janus round trip) never holds up anyone else's.
        self._room_locks: dict[str, asyncio.Lock] = {}
        self._control_lock = asyncio.Lock()
        if client.on_reset is None:
            client.on_reset = self.reset

    def __repr__(self) -> str:
        return f"<MediaGateway rooms={len(self._rooms)} client={self.client!r}>"

    @property
    def server(self) -> str:
        """The media server this gateway talks to: its address, as configured."""
        return self.client.url

    def _room_secret(self, room_key: str) -> str:
        # Derived, not random: the same secret after a Haven restart lets a new process
        # manage the rooms an old one left in a Janus that kept running.
        label = b"haven-room-secret:" + room_key.encode("utf-8")
        return hmac.new(self._admin_key.encode("utf-8"), label, hashlib.sha256).hexdigest()

    def room_keys(self) -> list[str]:
        """The rooms this gateway has open."""
        return list(self._rooms)

    def add_reset_listener(self, listener: ResetListener) -> None:
        """Call ``listener()`` after every reset (the media server lost all state)."""
        self._listeners.append(listener)

    async def reset(self) -> None:
        """Forget all rooms (Janus restarted or the connection dropped), tell listeners."""
        self._rooms.clear()
        self._room_keys_by_id.clear()
        self._control = None
        for listener in list(self._listeners):
            try:
                await listener()
            except Exception:
                log.exception("media reset listener failed")

    # -- rooms ------------------------------------------------------------------------

    async def _control_handle(self) -> JanusHandle:
        """A long-lived handle for room management requests."""
        # Locked: two callers must not each make a session (one would leak, kept alive).
        async with self._control_lock:
            if self._control is None or not self._control.alive:
                session = await self.client.create_session()
                try:
                    self._control = await session.attach(opaque_id="haven-control")
                except JanusClientError:
                    await _quietly(session.destroy(timeout=TEARDOWN_TIMEOUT))
                    raise
            return self._control

    def _room(self, room_key: str) -> _Room:
        room = self._rooms.get(room_key)
        if room is None:
            raise MediaError("no such media room: call ensure_room() first")
        return room

    async def ensure_room(self, room_key: str, *, max_publishers: int) -> None:
        """Create the room unless it was created since the last reset."""
        if max_publishers < 1:
            raise ValueError("max_publishers must be at least 1")
        if room_key in self._rooms:
            return
        async with self._room_locks.setdefault(room_key, asyncio.Lock()):
            if room_key not in self._rooms:
                await self._make_room(room_key, max_publishers)

    async def _make_room(self, room_key: str, max_publishers: int) -> None:
        room = _Room(room_id_for(room_key), self._room_secret(room_key), max_publishers)
        other = self._room_keys_by_id.get(room.room_id)
        if other is not None and other != room_key:
            raise MediaError("media room id collision; use another room key")
        with _media_errors():
            await self._create_room(room)
        self._rooms[room_key] = room
        self._room_keys_by_id[room.room_id] = room_key

    async def _create_room(self, room: _Room) -> None:
        handle = await self._control_handle()
        body = {
            "request": "create",
            "room": room.room_id,
            "admin_key": self._admin_key,
            "secret": room.secret,
            "permanent": False,
            "is_private": True,
            "publishers": room.max_publishers,
            **RECORDING_OFF,
            "allowed": [],
            "require_pvtid": True,
            "audiocodec": "opus",
            "videocodec": "vp8",
        }
        try:
            await handle.request(body)
        except JanusError as exc:
            if exc.code != ROOM_EXISTS:
                raise
            # Ours from before a reconnect or a restart of Haven (same derived secret):
            # editing it proves that, and applies the publishers cap asked for now.
            await handle.request(
                {
                    "request": "edit",
                    "room": room.room_id,
                    "secret": room.secret,
                    "new_publishers": room.max_publishers,
                }
            )

    async def _acl(self, room_key: str, action: str, token: str) -> None:
        room = self._room(room_key)
        handle = await self._control_handle()
        await handle.request(
            {
                "request": "allowed",
                "secret": room.secret,
                "action": action,
                "room": room.room_id,
                "allowed": [token],
            }
        )

    async def allow(self, room_key: str, token: str) -> None:
        """Let participants with ``token`` join the room."""
        with _media_errors():
            await self._acl(room_key, "add", token)

    async def disallow(self, room_key: str, token: str) -> None:
        """Stop new joins with ``token`` (does not remove who already joined)."""
        if room_key not in self._rooms:
            return  # a room forgotten at a reset has an empty list anyway
        with _media_errors():
            await self._acl(room_key, "remove", token)

    async def destroy_room(self, room_key: str) -> None:
        """Destroy the room (everyone in it is disconnected). Never fails on a dead Janus."""
        room = self._rooms.pop(room_key, None)
        if room is None:
            return
        lock = self._room_locks.get(room_key)
        if lock is not None and not lock.locked():
            del self._room_locks[room_key]
        self._room_keys_by_id.pop(room.room_id, None)
        body = {"request": "destroy", "room": room.room_id, "secret": room.secret}
        try:
            handle = await self._control_handle()
            await handle.request(body, timeout=TEARDOWN_TIMEOUT)
        except JanusError as exc:
            if exc.code != NO_SUCH_ROOM:
                raise MediaRefused(exc.code, exc.reason) from None
        except JanusClientError as exc:
            # The room dies with Janus's state; if Janus merely dropped the connection,
            # ensure_room() for the same key adopts it again.
            log.warning("could not destroy a media room: %s", exc)

    async def mute(self, room_key: str, feed_id: int, mid: str) -> None:
        """Mute one stream of a feed on the media server (the host's mute, rule V3)."""
        room = self._room(room_key)
        handle = await self._control_handle()
        body = {
            "request": "moderate",
            "secret": room.secret,
            "room": room.room_id,
            "id": feed_id,
            "mid": mid,
            "mute": True,
        }
        with _media_errors():
            await handle.request(body)

    async def kick(self, room_key: str, feed_id: int) -> None:
        """Throw a feed's publisher out of the room at once (removal, rule S8)."""
        room = self._rooms.get(room_key)
        if room is None:
            return
        body = {"request": "kick", "secret": room.secret, "room": room.room_id, "id": feed_id}
        try:
            handle = await self._control_handle()
            await handle.request(body, timeout=TEARDOWN_TIMEOUT)
        except JanusClientError as exc:
            log.info("kick of a feed that is already gone: %s", exc)

    # -- participants -------------------------------------------------------------------

    async def open_participant(
        self,
        room_key: str,
        *,
        participant_id: str,
        display: str,
        token: str,
        on_event: MediaEventCallback | None = None,
    ) -> ParticipantMedia:
        """Join the room as ``participant_id`` (one Janus session) with an allowed token.

        Raises MediaRefused with code 433 if the token is not allowed in the room.
        """
        room = self._room(room_key)
        with _media_errors():
            session = await self.client.create_session()
        participant = ParticipantMedia(
            room.room_id, room.secret, session, participant_id, token, on_event
        )
        try:
            await participant._join(display)
        except BaseException:
            await participant.close()
            raise
        return participant


class ParticipantMedia:
    """One participant's media in one room: a publisher handle and subscriptions."""

    def __init__(
        self,
        room_id: int,
        room_secret: str,
        session: JanusSession,
        participant_id: str,
        token: str,
        on_event: MediaEventCallback | None,
    ) -> None:
        self._room_id = room_id
        self._room_secret = room_secret
        self._session = session
        self._opaque_id = f"haven-{participant_id}"
        self._token = token
        self._on_event = on_event
        self._publisher: JanusHandle | None = None
        self._subscriptions: dict[int, JanusHandle] = {}
        self._closed = False
        self.feed_id: int | None = None
        self._private_id: int | None = None
        self.audio_mid = ""
        self.video_mid = ""
        self._display = ""
        self._screen: JanusHandle | None = None
        self.screen_feed_id: int | None = None

    def __repr__(self) -> str:
        return f"<ParticipantMedia {self._opaque_id} feed={self.feed_id}>"

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        return self._closed

    async def _join(self, display: str) -> None:
        """Join the room as a (not yet publishing) publisher: from then on the token ACL
        has been passed, and the private id lets this participant subscribe."""
        with _media_errors():
            self._publisher = await self._session.attach(
                opaque_id=self._opaque_id, on_event=self._event_relay(None)
            )
            data, _ = await self._publisher.message(self._publisher_join(display))
        self.feed_id = int(data["id"])
        self._private_id = int(data["private_id"])
        self._display = display
        # From now on this handle may carry an unmute, and only for this feed (V3).
        self._publisher.owner_feed = self.feed_id

    def _publisher_join(self, display: str) -> dict[str, Any]:
        return {
            "request": "join",
            "ptype": "publisher",
            "room": self._room_id,
            "display": display,
            "token": self._token,
        }

    def _publisher_handle(self) -> JanusHandle:
        if self._closed or self._publisher is None:
            raise MediaError("this participant's media is closed")
        return self._publisher

    async def publish(self, offer_sdp: str, source: str = "camera") -> tuple[int, str]:
        """Publish with the browser's SDP offer; returns (feed_id, answer_sdp).

        ``source`` "camera" publishes on this participant's own feed; "screen" joins a
        second publisher for a shared screen (the policy allows that to the host only).
        """
        if source == "screen":
            return await self._publish_screen(offer_sdp)
        handle = self._publisher_handle()
        with _media_errors():
            data, jsep = await handle.message(
                {"request": "publish"}, jsep={"type": "offer", "sdp": offer_sdp}
            )
        if jsep is None or jsep.get("type") != "answer" or self.feed_id is None:
            raise MediaError("media server sent no SDP answer")
        self.audio_mid = _stream_mid(data, "audio")
        self.video_mid = _stream_mid(data, "video")
        return self.feed_id, str(jsep["sdp"])

    async def _publish_screen(self, offer_sdp: str) -> tuple[int, str]:
        self._publisher_handle()
        await self.unpublish("screen")
        with _media_errors():
            handle = await self._session.attach(
                opaque_id=f"{self._opaque_id}-screen", on_event=self._event_relay(None, "screen")
            )
            self._screen = handle
            data, _ = await handle.message(self._publisher_join(f"{self._display} (screen)"))
            _, jsep = await handle.message(
                {"request": "publish"}, jsep={"type": "offer", "sdp": offer_sdp}
            )
        if jsep is None or jsep.get("type") != "answer":
            raise MediaError("media server sent no SDP answer")
        self.screen_feed_id = int(data["id"])
        return self.screen_feed_id, str(jsep["sdp"])

    async def unpublish(self, source: str = "camera") -> None:
        """Stop publishing a source (the participant stays in the room)."""
        if source == "screen":
            handle, self._screen, self.screen_feed_id = self._screen, None, None
            if handle is not None:
                await _quietly(handle.detach(timeout=TEARDOWN_TIMEOUT))
            return
        handle = self._publisher_handle()
        try:
            with _media_errors():
                await handle.request({"request": "unpublish"})
        except MediaRefused as exc:
            if exc.code != NOT_PUBLISHED:
                raise

    async def unmute_own_audio(self) -> None:
        """Lift the host's mute from this participant's OWN microphone (rule V3).

        The only unmute Haven ever sends. It names this participant's own feed and goes
        over their own publisher handle, which the Janus client checks (owner_feed).
        """
        handle = self._publisher_handle()
        if self.feed_id is None or not self.audio_mid:
            return  # nothing published, so nothing muted
        body = {
            "request": "moderate",
            "secret": self._room_secret,
            "room": self._room_id,
            "id": self.feed_id,
            "mid": self.audio_mid,
            "mute": False,
        }
        with _media_errors():
            await handle.request(body)

    async def unmute_own_video(self) -> None:
        """Let this participant's OWN video through again, muted since their meeting's type
        started them with the camera off (rule P3): the only other unmute Haven sends, as
        unmute_own_audio, over their own publisher handle for their own feed (V3)."""
        handle = self._publisher_handle()
        if self.feed_id is None or not self.video_mid:
            return  # nothing published, so nothing muted
        body = {
            "request": "moderate",
            "secret": self._room_secret,
            "room": self._room_id,
            "id": self.feed_id,
            "mid": self.video_mid,
            "mute": False,
        }
        with _media_errors():
            await handle.request(body)

    async def subscribe(self, feed_id: int) -> str:
        """Subscribe to a feed; returns the media server's SDP offer."""
        self._publisher_handle()
        await self.stop_subscription(feed_id)
        with _media_errors():
            handle = await self._session.attach(
                opaque_id=self._opaque_id, on_event=self._event_relay(feed_id)
            )
        self._subscriptions[feed_id] = handle
        body = {
            "request": "join",
            "ptype": "subscriber",
            "room": self._room_id,
            "streams": [{"feed": feed_id}],
            "private_id": self._private_id,  # the room requires it: only members subscribe
            "token": self._token,
        }
        try:
            with _media_errors():
                _, jsep = await handle.message(body)
            if jsep is None or jsep.get("type") != "offer":
                raise MediaError("media server sent no SDP offer")
        except MediaError:
            await self.stop_subscription(feed_id)
            raise
        return str(jsep["sdp"])

    def _subscription(self, feed_id: int) -> JanusHandle:
        handle = self._subscriptions.get(feed_id)
        if self._closed or handle is None:
            raise MediaError(f"no subscription to feed {feed_id}")
        return handle

    async def start_subscription(self, feed_id: int, answer_sdp: str) -> None:
        """Complete a subscription with the browser's SDP answer."""
        handle = self._subscription(feed_id)
        with _media_errors():
            await handle.message({"request": "start"}, jsep={"type": "answer", "sdp": answer_sdp})

    async def trickle(self, target: int | None, candidate: dict[str, Any] | None) -> None:
        """Pass on a browser ICE candidate (None = end of candidates).

        ``target`` None is the publishing connection, else the subscription to that feed.
        """
        handle = self._publisher_handle() if target is None else self._subscription(target)
        with _media_errors():
            await handle.trickle(candidate)

    async def stop_subscription(self, feed_id: int) -> None:
        """End a subscription; does nothing if there is none. Never fails on a dead Janus."""
        handle = self._subscriptions.pop(feed_id, None)
        if handle is not None:
            await _quietly(handle.detach(timeout=TEARDOWN_TIMEOUT))

    async def close(self) -> None:
        """Leave: detach every handle and destroy the session.

        Idempotent, and never raises because Janus is gone or not answering: after the
        first request that times out it stops asking, and Janus drops the session by
        itself once keepalives stop.
        """
        if self._closed:
            return
        self._closed = True
        own = [h for h in (self._screen, self._publisher) if h is not None]
        handles = [*self._subscriptions.values(), *own]
        self._subscriptions.clear()
        for handle in handles:
            if not await _quietly(handle.detach(timeout=TEARDOWN_TIMEOUT)):
                self._session.abandon()
                return
        await _quietly(self._session.destroy(timeout=TEARDOWN_TIMEOUT))

    # -- events ---------------------------------------------------------------------------

    def _event_relay(
        self, target: int | None, source: str = "camera"
    ) -> Callable[[dict[str, Any]], Awaitable[None]]:
        async def relay(message: dict[str, Any]) -> None:
            if self._on_event is None or self._closed:
                return
            event = translate_event(message, target)
            if event is not None:
                await self._on_event(dataclasses.replace(event, source=source))

        return relay


def _stream_mid(configured: dict[str, Any], kind: str) -> str:
    """The mid of the first ``kind`` ("audio", "video") stream in a ``configured`` event
    ("" if none)."""
    for stream in configured.get("streams", []):
        if isinstance(stream, dict) and stream.get("type") == kind:
            return str(stream.get("mid", ""))
    return ""


async def _quietly(request: Awaitable[None]) -> bool:
    """Await a teardown request, ignoring Janus failures; False if Janus did not answer."""
    try:
        await request
    except JanusTimeout:
        return False
    except JanusClientError as exc:
        log.debug("ignored during media teardown: %s", exc)
    return True


_CORE_EVENTS = {
    "webrtcup": "connected",
    "hangup": "disconnected",
    "media": "media",
    "slowlink": "slowlink",
    "detached": "gone",
    "timeout": "gone",
}


def translate_event(message: dict[str, Any], target: int | None) -> MediaEvent | None:
    """Turn a Janus event into a MediaEvent (None for ones Haven does not need)."""
    kind = message.get("janus")
    if kind in _CORE_EVENTS:
        keys = ("type", "receiving", "uplink", "reason")
        detail: dict[str, Any] = {k: message[k] for k in keys if k in message}
        return MediaEvent(_CORE_EVENTS[str(kind)], target, detail)
    if kind != "event":
        return None
    data = message.get("plugindata", {}).get("data", {})
    if not isinstance(data, dict):
        return None
    return _translate_room_event(data, target)


def _translate_room_event(data: dict[str, Any], target: int | None) -> MediaEvent:
    if isinstance(data.get("publishers"), list):
        feeds = [
            {"feed_id": p.get("id"), "display": p.get("display")}
            for p in data["publishers"]
            if isinstance(p, dict)
        ]
        return MediaEvent("feeds_added", target, {"feeds": feeds})
    for key in ("unpublished", "leaving"):
        if isinstance(data.get(key), int):
            return MediaEvent("feed_removed", target, {"feed_id": data[key]})
    if "kicked" in data:
        return MediaEvent("kicked", target, {"feed_id": data.get("kicked")})
    if data.get("videoroom") == "destroyed":
        return MediaEvent("room_closed", target)
    return MediaEvent("other", target, {"videoroom": data.get("videoroom")})
