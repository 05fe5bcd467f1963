"""The meeting WebSocket: parse, ask the policy, act, audit. Nothing else lives here.

This module holds the connection's life (connect, hello, join, leave, events from other
connections); media and host messages are handled in `media_handlers` and `host_handlers`.
"""

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError
from pydantic import BaseModel
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from haven.accounts.signin import touch_staff_session
from haven.chat import actions as chat
from haven.chat.handlers import ChatHandlers
from haven.media import turn
from haven.meetings.models import Meeting
from haven.policy import rules
from haven.policy.rules import Decision, Role
from haven.room import actions, groups, presence, ratelimit
from haven.room import protocol as p
from haven.room.access import access_room
from haven.room.actions import Refused
from haven.room.connection import CLOSE_BAD_VERSION, CLOSE_NORMAL, CLOSE_TRY_AGAIN_LATER
from haven.room.hand_handlers import HandHandlers
from haven.room.host_handlers import HostHandlers
from haven.room.media import MEDIA_FAILURES, forget_placement
from haven.room.media_handlers import MediaHandlers
from haven.room.models import Participant

logger = logging.getLogger(__name__)

STAFF_TOUCH_SECONDS = 60
# A service the meeting needs failed: the channel layer (Redis) or the database. Not the
# person's fault nor a bug: the connection closes with 1013 (or the frame gets
# `service_unavailable`), the person's place is kept, and their page resumes it.
SERVICE_FAILURES: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    OperationalError,
    InterfaceError,
)
# Not the built-in ConnectionError: a media server's refused connection is one too, and
# that is `media_unavailable` (MEDIA_FAILURES); Redis's and the database's are wrapped.
SERVICE_UNAVAILABLE = "The meeting service is briefly unavailable. Please try again in a moment."
# Places kept for connections closed by a failure, released later (strong references).
_RELEASES: set["asyncio.Task[None]"] = set()
WAITING_MESSAGE = "The host will let you in."
LOCKED_MESSAGE = (
    "The meeting is locked, so nobody new can come in at the moment. "
    "Please wait: the host knows you are here."
)


class MeetingConsumer(HostHandlers, MediaHandlers, ChatHandlers, HandHandlers):
    """One person's connection to one meeting."""

    staff_session_touched = float("-inf")
    accepted = False
    socket_closed = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """As Channels' own, but a failure of Redis or the database, wherever it happens
        (the channel layer's receive, connect, an event, disconnect), closes this socket
        with 1013 (try again later) instead of ending it with a traceback; the person's
        place is kept for them to resume, and let go only if they do not come back within
        HAVEN_SERVER_GONE_SECONDS (docs/protocol.md, "Close codes")."""
        try:
            await super().__call__(scope, receive, send)
        except SERVICE_FAILURES as error:
            logger.warning(
                "A service this meeting connection needs failed (%s: %s); closed with 1013",
                type(error).__name__,
                error,
            )
            await self.closed_by_service_failure()

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        await super().accept(subprotocol, headers)
        self.accepted = True

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        self.socket_closed = True
        await super().websocket_disconnect(message)

    async def closed_by_service_failure(self) -> None:
        """Close with 1013, drop this connection's media, keep the place for a resume."""
        if not self.socket_closed:
            # A close before accept would be an HTTP 403: accept first, so the page
            # learns it is to try again, not that it was refused.
            with contextlib.suppress(Exception):  # the client may already be gone
                if not self.accepted:
                    await self.base_send({"type": "websocket.accept"})
                await self.base_send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})
            self.socket_closed = True
        with contextlib.suppress(*MEDIA_FAILURES):
            await self.close_media()
        if hasattr(self, "identity") and self.participant is not None:
            task = asyncio.get_running_loop().create_task(
                _release_unless_resumed(self.participant, self.identity.actor, self.channel_name)
            )
            _RELEASES.add(task)
            task.add_done_callback(_RELEASES.discard)
        self.participant = None

    async def connect(self) -> None:
        meeting_id = self.scope["url_route"]["kwargs"]["meeting_id"]
        identity = await database_sync_to_async(access_room)(
            self.scope.get("user"), self.scope.get("session"), meeting_id
        )
        if identity is None:
            await self.close()  # the handshake is refused with HTTP 403
            return
        self.identity = identity
        self.media_token = secrets.token_urlsafe(24)
        presence.start_heartbeat()
        await self.channel_layer.group_add(groups.everyone(identity.meeting), self.channel_name)
        if identity.role is Role.HOST:
            await self.channel_layer.group_add(groups.hosts(identity.meeting), self.channel_name)
            await self.channel_layer.group_add(
                groups.staff_member(identity.user.pk),
                self.channel_name,
            )
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "identity"):
            return
        meeting = self.identity.meeting
        mine = [groups.everyone(meeting), groups.hosts(meeting), groups.in_meeting(meeting)]
        if self.identity.user is not None:
            mine.append(groups.staff_member(self.identity.user.pk))
        # Whatever fails here (the channel layer or the database down), the media session
        # is closed: left open, its keepalives would keep it alive on Janus for good.
        try:
            for group in mine:
                await self.channel_layer.group_discard(group, self.channel_name)
            if self.participant is not None and not presence.keeps_place(code):
                # Closed without `leave` (a reload, a crash, the network): gone from the
                # roster now, the place held for a resume (actions.do_leave).
                await database_sync_to_async(actions.do_leave)(
                    self.participant,
                    self.identity.actor,
                    actions.LeftBecause.DISCONNECTED,
                    channel_name=self.channel_name,
                    keep_place=True,
                )
        finally:
            await self.close_media()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not await ratelimit.allow(ratelimit.MESSAGES, ratelimit.person_key(self.identity)):
            await self.send_message(p.Error(code="rate_limited", message="Please slow down."))
            return
        request_id = None
        try:
            await self.keep_staff_session_alive()
            message = p.parse_client_message(text_data)
            request_id = message.id
            await self.dispatch_message(message)
        except p.ProtocolError as error:
            await self.send_error(error.code, error.message, error.request_id)
        except Refused as refusal:
            await self.refuse(refusal.decision, text_data, request_id)
        except SERVICE_FAILURES as error:
            # Redis or the database is down for a moment: say so, plainly; nothing at
            # ERROR (it is not a bug, and an operator's alerting sees /readyz).
            logger.warning("A meeting request failed, a service is unavailable: %s", error)
            await self.send_error("service_unavailable", SERVICE_UNAVAILABLE, request_id)
        except MEDIA_FAILURES as error:
            logger.warning("Media request failed: %s", error)
            await self.send_error(
                "media_unavailable",
                "The media server did not answer. Please try again.",
                request_id,
            )
        except Exception:
            # One bad request must not end the person's meeting: log it, answer, go on.
            logger.exception("Unexpected error handling a meeting message")
            await self.send_error(
                "server_error", "Something went wrong on the server. Please try again.", request_id
            )

    async def keep_staff_session_alive(self) -> None:
        """A host busy in a meeting is active: count it against the idle limit, at most
        once a minute (the session's pages are not being loaded meanwhile)."""
        if self.identity.user is None:
            return
        now = time.monotonic()
        if now - self.staff_session_touched < STAFF_TOUCH_SECONDS:
            return
        self.staff_session_touched = now
        key = getattr(self.scope.get("session"), "session_key", None)
        await database_sync_to_async(touch_staff_session)(key)

    async def dispatch_message(self, message: BaseModel) -> None:
        kind = message.type  # type: ignore[attr-defined]
        if not self.greeted and kind != "hello":
            raise p.ProtocolError("hello_required", "Send hello first.", message.id)  # type: ignore[attr-defined]
        handler: Callable[[Any], Awaitable[None]] = getattr(self, f"on_{kind}")
        await handler(message)

    # The connection's own life

    async def on_hello(self, message: p.Hello) -> None:
        if message.protocol != p.PROTOCOL_VERSION:
            await self.send_error(
                "unsupported_version",
                f"This server speaks protocol version {p.PROTOCOL_VERSION}.",
                message.id,
            )
            await self.close(code=CLOSE_BAD_VERSION)
            return
        self.greeted = True
        await self.send_message(await database_sync_to_async(self.welcome)(), message.id)

    async def on_join(self, message: p.Join) -> None:
        if self.participant is not None:
            raise Refused(Decision(False, "already_joined", "You have already joined."))
        entry = await database_sync_to_async(actions.do_join)(
            self.identity, self.channel_name, message.private_place_confirmed, message.resume
        )
        self.participant = entry.participant
        if self.identity.role is Role.HOST:
            await self.enter_meeting()
            joined = await database_sync_to_async(self.joined)()
            await self.send_message(joined.model_copy(update={"resume": entry.resume}), message.id)
        elif entry.participant.state == Participant.State.ADMITTED:
            # Resumed on this connection, still admitted: the meeting as it is now.
            await self.enter_meeting()
            snapshot = await database_sync_to_async(_snapshot)(self.identity.meeting)
            # What of the meeting type's muted start they have not lifted yet (P3).
            held = await database_sync_to_async(actions.standing_mutes)(entry.participant)
            await self.send_admitted(
                snapshot, message.id, muted=held.muted_on_entry, camera_off=held.camera_off_on_entry
            )
        else:
            waiting = await database_sync_to_async(self.waiting)()
            await self.send_message(waiting.model_copy(update={"resume": entry.resume}), message.id)

    async def on_leave(self, message: p.Leave) -> None:
        if self.participant is not None:
            await database_sync_to_async(actions.do_leave)(
                self.participant, self.identity.actor, channel_name=self.channel_name
            )
            self.participant = None
        await self.close_media()
        await self.send_message(p.Left(), message.id)
        await self.close(code=CLOSE_NORMAL)

    async def enter_meeting(self) -> None:
        """Join the group that carries meeting content: only once admitted (rule S2)."""
        await self.channel_layer.group_add(
            groups.in_meeting(self.identity.meeting), self.channel_name
        )

    async def end_connection(self, message: BaseModel) -> None:
        """Say why, drop this person's media on the server, and close."""
        await self.send_message(message)
        await self.close_media()
        self.participant = None
        await self.close(code=CLOSE_NORMAL)

    # Events from other connections, through the channel layer

    async def dispatch(self, message: dict[str, Any]) -> None:
        """As Channels' own, without its hop to the database thread first.

        Channels closes stale database connections before every message, which is a hop
        to the one thread that runs database code, and waits there behind whatever else
        is running. A broadcast that is only passed on touches no database: with 500
        people each chat message meant 500 such hops in a row. And a message that does
        reach the database got two hops where one does: letting someone in and their
        first subscription each waited for an extra one (bench/, issue 8). Every
        database call here goes through database_sync_to_async, which closes stale
        connections itself, before and after.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def room_forward(self, event: dict[str, Any]) -> None:
        host_text = event.get("host_text")
        if host_text is not None and rules.may_see_supervision(self.identity.role):
            await self.send(text_data=host_text)
        else:
            await self.send(text_data=event["text"])
        if event.get("close"):
            self.participant = None  # the action already recorded why they left
            await self.close(code=CLOSE_NORMAL)

    async def room_admitted(self, event: dict[str, Any]) -> None:
        """Let in (actions._let_in): everything to send was read in the admission. Their
        media session starts opening first, while `admitted` is made and sent and their
        page asks for the others' video (bench/, issue 8)."""
        if event.get("open_media"):
            assert self.participant is not None
            self.start_opening_media(self.participant)
        await self.enter_meeting()
        muted = event.get("muted_on_entry", False)  # the camera too (P3)
        await self.send_admitted(
            event["snapshot"], chat_json=event["chat"], muted=muted, camera_off=muted
        )

    async def send_admitted(
        self,
        snapshot_json: str,
        request_id: Any = None,
        chat_json: str | None = None,
        muted: bool = False,
        camera_off: bool = False,
    ) -> None:
        """`admitted`, with the chat so far: read in the admission (chat_json), or now (a
        person who resumed their place)."""
        assert self.participant is not None
        if chat_json is None:
            chat_so_far = await database_sync_to_async(chat.history)(self.participant)
        else:
            chat_so_far = actions.CHAT_ITEMS.validate_json(chat_json)
        # Parsed only now, just before sending: when hundreds are let in at once, no
        # connection holds its own copy of the roster while it waits (bench/, issue 8).
        snapshot = actions.Snapshot.model_validate_json(snapshot_json)
        admitted = p.Admitted(
            you=self.participant.public_id,
            roster=snapshot.roster,
            feeds=snapshot.feeds,
            chat=chat_so_far,
            hands=snapshot.hands,
            muted_on_entry=True if muted else None,  # rule P3
            camera_off_on_entry=True if camera_off else None,
            **ice_configuration(),
        )
        await self.send_message(admitted, request_id)

    async def room_replaced(self, event: dict[str, Any]) -> None:
        """This person resumed on another connection (after this one looked lost)."""
        self.participant = None  # the presence now belongs to the new connection
        await self.close_media()
        await self.close(code=CLOSE_NORMAL)

    async def room_removed(self, event: dict[str, Any]) -> None:
        await self.end_connection(p.Removed())

    async def room_muted_by_host(self, event: dict[str, Any]) -> None:
        await self.send_message(p.MutedByHost())

    async def room_media_reset(self, event: dict[str, Any]) -> None:
        """The Janus server this person's media is on restarted, or was lost and the
        meeting moved to another: their media is gone; they publish and subscribe again
        (on whichever server the meeting is on now)."""
        server = event.get("server", self.media_server)
        forget_placement(self.identity.meeting, server)
        if self.participant is None or not await self.drop_media_on(server):
            return
        # A host's mute stays on their row: their next feed is muted again (V3).
        await database_sync_to_async(actions.do_forget_feed)(self.participant)
        await self.send_message(p.MediaRestarted())

    async def room_signed_out(self, event: dict[str, Any]) -> None:
        """This member of staff was signed out everywhere, or deactivated."""
        await self.end_connection(
            p.Error(code="signed_out", message="You have been signed out. Sign in again.")
        )

    async def room_ended(self, event: dict[str, Any]) -> None:
        await self.end_connection(p.MeetingEnded())

    # Snapshots read from the database (run in a worker thread)

    def welcome(self) -> p.Welcome:
        meeting = self.identity.meeting
        host = meeting.host
        return p.Welcome(
            you=p.You(
                participant=self.participant.public_id if self.participant else None,
                name=self.identity.name,
                role="host" if self.identity.role is Role.HOST else self.identity.invitation.role,  # type: ignore[union-attr]
                is_host=self.identity.role is Role.HOST,
            ),
            meeting=p.MeetingInfo(
                title=meeting.title,
                starts_at=meeting.starts_at.isoformat(),
                state=Meeting.objects.get(pk=meeting.pk).state,
                host=p.HostIdentity(
                    name=host.full_name,
                    job_title=host.job_title,
                    staff_page=meeting.policy.staff_page_url,
                ),
            ),
        )

    def joined(self) -> p.Joined:
        meeting = self.identity.meeting
        assert self.participant is not None
        return p.Joined(
            you=self.participant.public_id,
            locked=Meeting.objects.values_list("locked", flat=True).get(pk=meeting.pk),
            roster=actions.roster(meeting, self.identity.role),
            feeds=actions.feeds(meeting),
            waiting=actions.waiting(meeting),
            chat=chat.history(self.participant),
            hands=actions.hands(meeting),
            **ice_configuration(),
        )

    def waiting(self) -> p.Waiting:
        meeting = Meeting.objects.get(pk=self.identity.meeting.pk)
        return p.Waiting(
            meeting=p.WaitingMeeting(title=meeting.title, starts_at=meeting.starts_at.isoformat()),
            locked=meeting.locked,
            message=LOCKED_MESSAGE if meeting.locked else WAITING_MESSAGE,
        )


async def _release_unless_resumed(participant: Participant, actor: Any, channel_name: str) -> None:
    """A connection closed by a service failure kept its person's place. Once
    HAVEN_SERVER_GONE_SECONDS have passed, the place ends (disconnected) unless they
    resumed it on another connection meanwhile (do_leave checks the connection still
    holds it); while the database is still down, try again a little later."""
    await asyncio.sleep(presence.gone_after().total_seconds())
    for _ in range(120):
        try:
            await database_sync_to_async(actions.do_leave)(
                participant, actor, actions.LeftBecause.DISCONNECTED, channel_name=channel_name
            )
            return
        except SERVICE_FAILURES as error:
            logger.warning("Letting go of a place kept after a failure failed: %s", error)
            await asyncio.sleep(presence.beat_seconds())


def _snapshot(meeting: Meeting) -> str:
    return actions.Snapshot(
        roster=actions.roster(meeting), feeds=actions.feeds(meeting), hands=actions.hands(meeting)
    ).model_dump_json()


def ice_configuration() -> dict[str, Any]:
    """TURN servers with a fresh credential, for someone now in the meeting (never for the
    waiting room: rule S2). Nothing without HAVEN_TURN_URLS and HAVEN_TURN_SECRET."""
    if not (settings.HAVEN_TURN_URLS and settings.HAVEN_TURN_SECRET):
        return {}
    username, credential = turn.credentials(
        settings.HAVEN_TURN_SECRET, settings.HAVEN_TURN_CREDENTIAL_SECONDS
    )
    server = p.IceServer(urls=settings.HAVEN_TURN_URLS, username=username, credential=credential)
    relay_only = True if settings.HAVEN_TURN_FORCE_RELAY else None  # tests only
    return {"ice_servers": [server], "relay_only": relay_only}
