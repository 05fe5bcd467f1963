"""Raised hands in the meeting protocol: checked by the policy in the action, then sent on."""

from channels.db import database_sync_to_async

from haven.room import actions, ratelimit
from haven.room import protocol as p
from haven.room.connection import RoomConnection

SLOW_DOWN = p.Error(code="rate_limited", message="You are raising and lowering hands too fast.")


class HandHandlers(RoomConnection):
    """raise_hand (anyone in the meeting, their own), lower_hand (their own; the host, anyone's).

    Neither answers directly: everyone in the meeting, the sender included, gets `hands`.
    """

    async def on_raise_hand(self, message: p.RaiseHand) -> None:
        participant = await self.require_participant()
        if await self.hands_allowance_used(message.id):
            return
        await database_sync_to_async(actions.do_raise_hand)(participant, self.identity.actor)

    async def on_lower_hand(self, message: p.LowerHand) -> None:
        participant = await self.require_participant()
        if await self.hands_allowance_used(message.id):
            return
        await database_sync_to_async(actions.do_lower_hand)(
            participant, self.identity, message.participant
        )

    async def hands_allowance_used(self, request_id: int | str | None) -> bool:
        """The person's allowance, not this connection's: reconnecting gives no new one."""
        if await ratelimit.allow(ratelimit.HANDS, ratelimit.person_key(self.identity)):
            return False
        await self.send_message(SLOW_DOWN, request_id)
        return True
