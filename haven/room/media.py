"""This server process's connection to its media server, made on first use."""

import asyncio
import logging

from django.conf import settings

from haven.media.gateway import MediaError, MediaGateway
from haven.media.janus import JanusClient, JanusError, JanusTimeout, JanusUnavailable

logger = logging.getLogger(__name__)

# What a media request can fail with; the consumer answers `media_unavailable`.
MEDIA_FAILURES = (MediaError, JanusError, JanusTimeout, JanusUnavailable, OSError)

_gateway: MediaGateway | None = None
_lock: asyncio.Lock | None = None


async def get_gateway() -> MediaGateway:
    """The process-wide media gateway, connecting to Janus the first time."""
    global _gateway, _lock
    if _gateway is not None:
        return _gateway
    if _lock is None:
        _lock = asyncio.Lock()
    async with _lock:
        if _gateway is None:
            gateway: MediaGateway | None = None

            async def on_reset() -> None:
                logger.warning("Janus restarted: media rooms will be created again.")
                if gateway is not None:
                    await gateway.reset()

            client = JanusClient(
                settings.HAVEN_JANUS_URL, settings.HAVEN_JANUS_API_SECRET, on_reset=on_reset
            )
            await client.start()
            gateway = MediaGateway(client, settings.HAVEN_JANUS_ADMIN_KEY)
            _gateway = gateway
    return _gateway
