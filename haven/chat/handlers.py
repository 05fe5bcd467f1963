"""The chat messages of the meeting protocol."""

from channels.db import database_sync_to_async

from haven.chat import actions
from haven.room import protocol as p
from haven.room.connection import RoomConnection
from haven.room.ratelimit import TokenBucket

SLOW_DOWN = p.Error(code="rate_limited", message="You are sending messages too fast.")


class ChatHandlers(RoomConnection):
    """chat (anyone in the meeting), chat_remove (the host)."""

    chat_limiter: TokenBucket | None = None

    async def on_chat(self, message: p.SendChat) -> None:
        participant = await self.require_participant()
        if self.chat_limiter is None:
            self.chat_limiter = TokenBucket(rate=0.5, burst=5)
        if not self.chat_limiter.allow():
            await self.send_message(SLOW_DOWN, message.id)
            return
        sent = await database_sync_to_async(actions.do_send_chat)(participant, message.text)
        answer = p.ChatSent(message=sent.message.public_id, removed=sent.removed or None)
        await self.send_message(answer, message.id)

    async def on_chat_remove(self, message: p.RemoveChat) -> None:
        host = await self.require_participant()
        await database_sync_to_async(actions.do_remove_chat)(host, self.identity, message.message)
