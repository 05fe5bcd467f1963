"""The chat messages of the meeting protocol."""

from channels.db import database_sync_to_async

from haven.chat import actions
from haven.room import protocol as p
from haven.room import ratelimit
from haven.room.connection import RoomConnection

SLOW_DOWN = p.Error(code="rate_limited", message="You are sending messages too fast.")


class ChatHandlers(RoomConnection):
    """chat (anyone in the meeting), chat_remove (the host)."""

    async def on_chat(self, message: p.SendChat) -> None:
        participant = await self.require_participant()
        # The person's allowance, not this connection's: reconnecting gives no new one.
        if not await ratelimit.allow(ratelimit.CHAT, ratelimit.person_key(self.identity)):
            await self.send_message(SLOW_DOWN, message.id)
            return
        sent = await database_sync_to_async(actions.do_send_chat)(participant, message.text)
        answer = p.ChatSent(message=sent.message.public_id, removed=sent.removed or None)
        await self.send_message(answer, message.id)

    async def on_chat_remove(self, message: p.RemoveChat) -> None:
        host = await self.require_participant()
        await database_sync_to_async(actions.do_remove_chat)(host, self.identity, message.message)
