"""What every meeting connection shares: who it is, its state, and how it answers.

The consumer is split by concern: this base (state and replies), `media_handlers`
(publishing and subscribing), `host_handlers` (the host's actions) and `consumers`
(the connection's life: hello, join, leave, events from others).
"""

import asyncio
import logging
import re
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from pydantic import BaseModel

from haven.media.gateway import MediaGateway, ParticipantMedia
from haven.policy import rules
from haven.policy.rules import Decision
from haven.room import actions
from haven.room import protocol as p
from haven.room.access import Identity
from haven.room.actions import Refused
from haven.room.media import gateway_for
from haven.room.models import Participant

logger = logging.getLogger(__name__)

CLOSE_NORMAL = 4000
CLOSE_BAD_VERSION = 4400
CLOSE_NOT_ALLOWED = 4403
# RFC 6455 "try again later": Redis or the database failed; the page resumes its place.
CLOSE_TRY_AGAIN_LATER = 1013
# Refusals that are evidence of someone trying what they may not: always audited.
AUDITED_CODES = frozenset({"not_allowed", "too_many_streams"})
NOT_JOINED = Decision(False, "not_joined", "Join the meeting first.")


class RoomConnection(AsyncWebsocketConsumer):
    """One person's connection to one meeting: state and replies."""

    identity: Identity
    media_token: str
    participant: Participant | None = None
    media: ParticipantMedia | None = None
    # The media server `media` is on (its name in HAVEN_JANUS_SERVERS).
    media_server = ""
    # Opening `media` in the background, from when the person is let in.
    media_opening: "asyncio.Task[ParticipantMedia] | None" = None
    # Counts media resets: an opening that began before one closes what it opened.
    media_resets = 0
    greeted = False
    # This end closed the socket. What is still queued for this connection (a broadcast
    # sent before it left the meeting's groups, as after `leave`) is dropped: sending on a
    # closed socket raised in the server and was logged as an ERROR.
    closed_here = False

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        if not self.closed_here:
            await super().send(text_data, bytes_data, close)

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        if not self.closed_here:
            self.closed_here = True
            await super().close(code, reason)

    async def require_participant(self) -> Participant:
        if self.participant is None:
            raise Refused(NOT_JOINED)
        return self.participant

    async def require_host_in_meeting(self) -> Participant:
        """The host's own guard; the action checks the policy again inside its transaction."""
        participant = await self.require_participant()
        if self.identity.role is not rules.Role.HOST:
            raise Refused(rules.HOST_ONLY)
        return participant

    async def require_media(self) -> Participant:
        """The guard for every media message: admitted, and the meeting not over (S2)."""
        participant = await self.require_participant()
        state, meeting_state = await database_sync_to_async(_states)(participant.pk)
        check(rules.may_use_media(rules.Presence(state), rules.MeetingState(meeting_state)))
        return participant

    async def media_room(self) -> MediaGateway:
        """The gateway to the media server the meeting is on (placing it there first if it
        is on none), with the meeting's media room made (or adopted: another Haven process
        may have made it; making it is idempotent)."""
        meeting = self.identity.meeting
        gateway = await gateway_for(meeting)
        await gateway.ensure_room(
            meeting.room_key, max_publishers=meeting.meeting_type.max_attendees + 2
        )
        return gateway

    async def refuse(self, decision: Decision, text: str | None, request_id: Any) -> None:
        if decision.code in AUDITED_CODES:
            kind = _message_type(text)
            await database_sync_to_async(actions.refuse_and_audit)(self.identity, kind, decision)
        await self.send_error(decision.code, decision.message, request_id)
        if decision.code == "meeting_ended":
            await self.close(code=CLOSE_NORMAL)
        elif decision.code == "access_withdrawn":  # removed, banned, link revoked (S1, S8)
            await self.close(code=CLOSE_NOT_ALLOWED)

    async def send_error(self, code: str, message: str, request_id: Any = None) -> None:
        await self.send_message(p.Error(code=code, message=message), request_id)

    async def send_message(self, message: BaseModel, request_id: Any = None) -> None:
        if request_id is not None:
            message = message.model_copy(update={"re": request_id})
        await self.send(text_data=p.encode(message))


def check(decision: Decision) -> None:
    if not decision:
        raise Refused(decision)


def _states(participant_pk: int) -> tuple[str, str]:
    return Participant.objects.values_list("state", "meeting__state").get(pk=participant_pk)


def _message_type(text: str | None) -> str:
    match = re.search(r'"type"\s*:\s*"([a-z_]{1,30})"', text or "")
    return match.group(1) if match else "unknown"
