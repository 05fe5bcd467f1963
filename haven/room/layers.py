"""The channel layer that carries broadcasts between the connections of one process.

Channels' own InMemoryChannelLayer, with two costs taken out that grow with the square
of the number of people in a meeting (measured by bench/, issue 8):

- it walks every channel and every group member to drop expired messages on every
  receive and every group_send; with 500 people one chat message meant 500 receives,
  each walking 500 channels. Here that walk happens at most once a second (messages
  expire after 60 s, so a second late changes nothing);
- group_send made one asyncio task per member to put the message on its queue, which
  is a plain put that never waits. Here it puts directly.

What it delivers, and when it drops (a full queue), is unchanged.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

CLEAN_EVERY_SECONDS = 1.0


class MeetingChannelLayer(InMemoryChannelLayer):  # type: ignore[misc]
    """InMemoryChannelLayer without its per-message walks over every channel."""

    _cleaned_at = float("-inf")

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._cleaned_at < CLEAN_EVERY_SECONDS:
            return
        self._cleaned_at = now
        super()._clean_expired()

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, {})):
            # As the original: a connection this far behind misses the message.
            with contextlib.suppress(ChannelFull):
                await self.send(channel, message)
