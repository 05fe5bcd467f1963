"""The meeting WebSocket: parse, ask the policy, act, audit. Nothing else lives here."""

import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from pydantic import BaseModel

from haven.media.gateway import MediaEvent, ParticipantMedia
from haven.meetings.models import Meeting
from haven.policy import rules
from haven.policy.rules import Decision, Role
from haven.room import actions, groups
from haven.room import protocol as p
from haven.room.access import Identity, access_room
from haven.room.actions import Refused
from haven.room.media import MEDIA_FAILURES, get_gateway
from haven.room.models import Participant
from haven.room.ratelimit import TokenBucket

logger = logging.getLogger(__name__)

CLOSE_NORMAL = 4000
CLOSE_BAD_VERSION = 4400
# Refusals that are evidence of someone trying what they may not: always audited.
AUDITED_CODES = frozenset({"not_allowed", "too_many_streams"})


class MeetingConsumer(AsyncWebsocketConsumer):
    """One person's connection to one meeting."""

    identity: Identity
    participant: Participant | None = None
    media: ParticipantMedia | None = None
    greeted = False
    closed = False

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
        self.limiter = TokenBucket(rate=20, burst=60)
        await self.channel_layer.group_add(groups.everyone(identity.meeting), self.channel_name)
        if identity.role is Role.HOST:
            await self.channel_layer.group_add(groups.hosts(identity.meeting), self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "identity"):
            return
        self.closed = True
        meeting = self.identity.meeting
        for group in (groups.everyone(meeting), groups.hosts(meeting), groups.in_meeting(meeting)):
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.participant is not None:
            await database_sync_to_async(actions.do_leave)(self.participant, self.identity.actor)
        await self.close_media()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.limiter.allow():
            await self.send_message(p.Error(code="rate_limited", message="Please slow down."))
            return
        request_id = None
        try:
            message = p.parse_client_message(text_data)
            request_id = message.id
            await self.dispatch_message(message)
        except p.ProtocolError as error:
            await self.send_error(error.code, error.message, error.request_id)
        except Refused as refusal:
            await self.refuse(refusal.decision, text_data, request_id)
        except MEDIA_FAILURES as error:
            logger.warning("Media request failed: %s", type(error).__name__)
            await self.send_error(
                "media_unavailable",
                "The media server did not answer. Please try again.",
                request_id,
            )

    async def dispatch_message(self, message: BaseModel) -> None:
        kind = message.type  # type: ignore[attr-defined]
        if not self.greeted and kind != "hello":
            raise p.ProtocolError("hello_required", "Send hello first.", message.id)  # type: ignore[attr-defined]
        handler: Callable[[Any], Awaitable[None]] = getattr(self, f"on_{kind}")
        await handler(message)

    # Client messages

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
        self.participant = await database_sync_to_async(actions.do_join)(
            self.identity, self.channel_name, message.private_place_confirmed
        )
        if self.identity.role is Role.HOST:
            await self.enter_meeting()
            reply = await database_sync_to_async(self.joined)()
            await self.send_message(reply, message.id)
        else:
            meeting = self.identity.meeting
            waiting = p.Waiting(
                meeting=p.WaitingMeeting(
                    title=meeting.title, starts_at=meeting.starts_at.isoformat()
                ),
                message="The host will let you in.",
            )
            await self.send_message(waiting, message.id)

    async def on_admit(self, message: p.Admit) -> None:
        host = await self.require_participant()
        await database_sync_to_async(actions.do_admit)(host, self.identity, message.participant)

    async def on_publish(self, message: p.Publish) -> None:
        participant = await self.require_media()
        audio, video = count_media_sections(message.jsep.sdp)
        await self.check(rules.may_publish_streams(self.identity.role, audio, video))
        media = await self.open_media(participant)
        feed_id, answer = await media.publish(message.jsep.sdp)
        # The meeting hears of the feed once its media is up (on_media_event): Janus
        # refuses subscriptions to a publisher whose connection is not up yet.
        reply = p.Published(feed=feed_id, jsep=p.AnswerJsep(type="answer", sdp=answer))
        await self.send_message(reply, message.id)

    async def on_subscribe(self, message: p.Subscribe) -> None:
        participant = await self.require_media()
        await self.require_feed(participant, message.feed)
        media = await self.open_media(participant)
        offer = await media.subscribe(message.feed)
        reply = p.SubscribeOffer(feed=message.feed, jsep=p.OfferJsep(type="offer", sdp=offer))
        await self.send_message(reply, message.id)

    async def on_subscribe_answer(self, message: p.SubscribeAnswer) -> None:
        participant = await self.require_media()
        await self.require_feed(participant, message.feed)
        media = await self.open_media(participant)
        await media.start_subscription(message.feed, message.jsep.sdp)
        await self.send_message(p.Subscribed(feed=message.feed), message.id)

    async def on_trickle(self, message: p.Trickle) -> None:
        await self.require_media()
        if self.media is None:
            raise Refused(Decision(False, "not_found", "Publish or subscribe first."))
        candidate = message.candidate.model_dump(exclude_none=True) if message.candidate else None
        await self.media.trickle(message.feed, candidate)

    async def on_leave(self, message: p.Leave) -> None:
        if self.participant is not None:
            await database_sync_to_async(actions.do_leave)(self.participant, self.identity.actor)
            self.participant = None
        await self.close_media()
        await self.send_message(p.Left(), message.id)
        await self.close(code=CLOSE_NORMAL)

    async def on_end_meeting(self, message: p.EndMeeting) -> None:
        await database_sync_to_async(actions.do_end_meeting)(self.identity)
        gateway = await get_gateway()
        try:
            await gateway.destroy_room(self.identity.meeting.room_key)
        except MEDIA_FAILURES:
            logger.warning("Could not destroy the media room; Janus may be down.")

    # Events from other connections, through the channel layer

    async def room_forward(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])

    async def room_admitted(self, event: dict[str, Any]) -> None:
        await self.enter_meeting()
        reply = await database_sync_to_async(self.admitted)()
        await self.send_message(reply)

    async def room_media_reset(self, event: dict[str, Any]) -> None:
        """Janus restarted: this person's media is gone; they publish and subscribe again."""
        if self.media is None or self.participant is None:
            return
        self.media = None  # its Janus session died with Janus; nothing to close
        await database_sync_to_async(actions.do_forget_feed)(self.participant)
        await self.send_message(p.MediaRestarted())

    async def room_ended(self, event: dict[str, Any]) -> None:
        await self.send_message(p.MeetingEnded())
        await self.close_media()
        self.participant = None
        await self.close(code=CLOSE_NORMAL)

    # Helpers

    async def enter_meeting(self) -> None:
        """Join the group that carries meeting content: only once admitted (rule S2)."""
        await self.channel_layer.group_add(
            groups.in_meeting(self.identity.meeting), self.channel_name
        )

    async def require_participant(self) -> Participant:
        if self.participant is None:
            raise Refused(Decision(False, "not_joined", "Join the meeting first."))
        return self.participant

    async def require_media(self) -> Participant:
        """The guard for every media message: admitted, and the meeting not over."""
        participant = await self.require_participant()
        state, meeting_state = await database_sync_to_async(_states)(participant.pk)
        await self.check(
            rules.may_use_media(rules.Presence(state), rules.MeetingState(meeting_state))
        )
        return participant

    async def check(self, decision: Decision) -> None:
        if not decision:
            raise Refused(decision)

    async def require_feed(self, participant: Participant, feed_id: int) -> None:
        exists = await database_sync_to_async(_feed_is_in_meeting)(participant, feed_id)
        if not exists:
            raise Refused(Decision(False, "not_found", "There is no such feed in this meeting."))

    async def open_media(self, participant: Participant) -> ParticipantMedia:
        """Open this person's media session; their token is allowed only now (after S2)."""
        if self.media is None:
            meeting = self.identity.meeting
            gateway = await get_gateway()
            await gateway.ensure_room(
                meeting.room_key, max_publishers=meeting.meeting_type.max_attendees + 1
            )
            await gateway.allow(meeting.room_key, self.media_token)
            self.media = await gateway.open_participant(
                meeting.room_key,
                participant_id=participant.public_id,
                display=participant.name,
                token=self.media_token,
                on_event=self.on_media_event,
            )
        return self.media

    async def on_media_event(self, event: MediaEvent) -> None:
        """The media server says something about one of this person's connections."""
        participant = self.participant
        if participant is None or self.media is None:
            return
        if event.target is None and event.kind == "connected" and self.media.feed_id:
            await database_sync_to_async(actions.do_record_feed)(participant, self.media.feed_id)

    async def close_media(self) -> None:
        media, self.media = self.media, None
        if media is None:
            return
        await media.close()
        try:
            gateway = await get_gateway()
            await gateway.disallow(self.identity.meeting.room_key, self.media_token)
        except MEDIA_FAILURES:
            pass  # the room is gone or Janus is down: the token is useless either way

    async def refuse(self, decision: Decision, text: str | None, request_id: Any) -> None:
        if decision.code in AUDITED_CODES:
            kind = _message_type(text)
            await database_sync_to_async(actions.refuse_and_audit)(self.identity, kind, decision)
        await self.send_error(decision.code, decision.message, request_id)
        if decision.code == "meeting_ended":
            await self.close(code=CLOSE_NORMAL)

    async def send_error(self, code: str, message: str, request_id: Any = None) -> None:
        await self.send_message(p.Error(code=code, message=message), request_id)

    async def send_message(self, message: BaseModel, request_id: Any = None) -> None:
        if request_id is not None:
            message = message.model_copy(update={"re": request_id})
        await self.send(text_data=p.encode(message))

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
            roster=actions.roster(meeting),
            feeds=actions.feeds(meeting),
            waiting=actions.waiting(meeting),
        )

    def admitted(self) -> p.Admitted:
        meeting = self.identity.meeting
        assert self.participant is not None
        return p.Admitted(
            you=self.participant.public_id,
            roster=actions.roster(meeting),
            feeds=actions.feeds(meeting),
        )


def _states(participant_pk: int) -> tuple[str, str]:
    return Participant.objects.values_list("state", "meeting__state").get(pk=participant_pk)


def _feed_is_in_meeting(participant: Participant, feed_id: int) -> bool:
    return (
        Participant.objects.filter(
            meeting_id=participant.meeting_id,
            state=Participant.State.ADMITTED,
            feed_id=feed_id,
        )
        .exclude(pk=participant.pk)
        .exists()
    )


_MEDIA_LINE = re.compile(r"^m=(audio|video|application)\s", re.MULTILINE)


def count_media_sections(sdp: str) -> tuple[int, int]:
    """How many audio and video streams an SDP offer would send (rule V2)."""
    kinds = _MEDIA_LINE.findall(sdp.replace("\r\n", "\n"))
    return kinds.count("audio"), kinds.count("video")


def _message_type(text: str | None) -> str:
    match = re.search(r'"type"\s*:\s*"([a-z_]{1,30})"', text or "")
    return match.group(1) if match else "unknown"
