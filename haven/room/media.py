"""This server process's connection to its media server, made on first use."""

import asyncio
import logging

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from haven.media.gateway import MediaError, MediaGateway
from haven.media.janus import JanusClient, JanusError, JanusTimeout, JanusUnavailable
from haven.room.actions import channels_in_meetings_held_here

logger = logging.getLogger(__name__)

# What a media request can fail with; the consumer answers `media_unavailable`.
MEDIA_FAILURES = (MediaError, JanusError, JanusTimeout, JanusUnavailable, OSError)

_gateway: MediaGateway | None = None
_lock: asyncio.Lock | None = None


def existing_gateway() -> MediaGateway | None:
    """The media gateway if this process has connected to Janus already, else None."""
    return _gateway


async def get_gateway() -> MediaGateway:
    """The process-wide media gateway, connecting to Janus the first time."""
    global _gateway, _lock
    if _gateway is not None:
        return _gateway
    if _lock is None:
        _lock = asyncio.Lock()
    async with _lock:
        if _gateway is None:
            client = JanusClient(settings.HAVEN_JANUS_URL, settings.HAVEN_JANUS_API_SECRET)
            await client.start()
            gateway = MediaGateway(client, settings.HAVEN_JANUS_ADMIN_KEY)
            gateway.add_reset_listener(tell_meetings_media_restarted)
            _gateway = gateway
    return _gateway


async def tell_meetings_media_restarted() -> None:
    """Janus lost every room (or this process lost its connection to Janus, and with it
    every Janus session it held): everyone whose media this process holds must publish
    and subscribe again. Only this process's connections: each Haven process has its own
    Janus connection and notices its own reset, so a broadcast to whole meetings would
    reset everyone once per process."""
    logger.warning("Janus restarted: asking everyone in a meeting to reconnect their media.")
    layer = get_channel_layer()
    assert layer is not None
    for channel in await database_sync_to_async(channels_in_meetings_held_here)():
        await layer.send(channel, {"type": "room.media_reset"})
