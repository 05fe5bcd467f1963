"""The host's actions in a meeting. Each: guard, action (policy + audit), then Janus."""

import datetime as dt
import logging

from channels.db import database_sync_to_async

from haven.room import actions
from haven.room import protocol as p
from haven.room.connection import RoomConnection
from haven.room.media import MEDIA_FAILURES

logger = logging.getLogger(__name__)


class HostHandlers(RoomConnection):
    """admit, admit_all, turn_away, lock, unlock, remove, ban, ask, mute, end_meeting.

    Anyone may send these; the action function refuses anyone but the host, and that
    refusal comes before any request to the media server.
    """

    async def on_admit(self, message: p.Admit) -> None:
        host = await self.require_participant()
        await database_sync_to_async(actions.do_admit)(host, self.identity, message.participant)

    async def on_admit_all(self, message: p.AdmitAll) -> None:
        host = await self.require_participant()
        answer = await database_sync_to_async(actions.do_admit_all)(host, self.identity)
        await self.send_message(answer, message.id)

    async def on_turn_away(self, message: p.TurnAway) -> None:
        host = await self.require_participant()
        await database_sync_to_async(actions.do_turn_away)(
            host, self.identity, message.participant, message.message
        )

    async def on_lock(self, message: p.Lock) -> None:
        host = await self.require_participant()
        await database_sync_to_async(actions.do_set_lock)(host, self.identity, True)

    async def on_unlock(self, message: p.Unlock) -> None:
        host = await self.require_participant()
        await database_sync_to_async(actions.do_set_lock)(host, self.identity, False)

    async def on_remove(self, message: p.Remove) -> None:
        await self._remove(message.participant, message.reason, ban=False)

    async def on_ban(self, message: p.Ban) -> None:
        review_on = dt.date.fromisoformat(message.review_on) if message.review_on else None
        await self._remove(message.participant, message.reason, ban=True, review_on=review_on)

    async def _remove(
        self, target: str, reason: str, *, ban: bool, review_on: dt.date | None = None
    ) -> None:
        host = await self.require_participant()
        feeds = await database_sync_to_async(actions.do_remove)(
            host, self.identity, target, reason, ban=ban, review_on=review_on
        )
        # Their own connection closes their media too; kicking here makes it immediate
        # even if that connection is slow or gone (rule S8). The target may be on
        # another Haven process: this one adopts the room to reach their feeds.
        gateway = await self.media_room()
        for feed_id in feeds:
            await gateway.kick(self.identity.meeting.room_key, feed_id)

    async def on_ask(self, message: p.Ask) -> None:
        host = await self.require_participant()
        await database_sync_to_async(actions.do_ask)(
            host, self.identity, message.participant, message.what
        )

    async def on_mute(self, message: p.Mute) -> None:
        host = await self.require_participant()
        targets = await database_sync_to_async(actions.do_mute)(
            host, self.identity, message.participant
        )
        gateway = await self.media_room()
        for target in targets:
            if target.feed_id is not None and target.audio_mid:
                await gateway.mute(self.identity.meeting.room_key, target.feed_id, target.audio_mid)

    async def on_end_meeting(self, message: p.EndMeeting) -> None:
        keep = message.transcript == "keep"
        await database_sync_to_async(actions.do_end_meeting)(self.identity, keep_transcript=keep)
        try:
            gateway = await self.media_room()
            await gateway.destroy_room(self.identity.meeting.room_key)
        except MEDIA_FAILURES:
            logger.warning("Could not destroy the media room; Janus may be down.")
