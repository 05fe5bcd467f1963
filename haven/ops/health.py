"""Probes for a process supervisor or load balancer: /healthz and /readyz.

/healthz says only that this process answers (it touches nothing else), so a supervisor
restarts a hung process but not one whose database is briefly away. /readyz checks what
a meeting needs: the database, the channel layer and the Janus media servers; a balancer
sends no new people to a process that is not ready. With several Janus servers, one that
is down leaves the process ready ("degraded": its meetings move to the others); none up
does not. Neither says anything about anyone.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from haven.room.media import servers_answering

logger = logging.getLogger(__name__)

# A check that has not answered in this long counts as down.
CHECK_TIMEOUT = 3.0


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
async def readyz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": await _check("database", sync_to_async(_database)),
        "channel_layer": await _check("channel_layer", _channel_layer),
        "media": await _media(),
    }
    ready = all(state in {"ok", "degraded"} for state in checks.values())
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    return JsonResponse(body, status=200 if ready else 503)


async def _check(name: str, probe: Callable[[], Awaitable[None]]) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await probe()
    except Exception as error:  # any failure means "not ready"; the kind is logged
        logger.warning("Readiness check %s failed: %s", name, type(error).__name__)
        return "unavailable"
    return "ok"


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def _channel_layer() -> None:
    """A message to a fresh channel of this process comes back through the layer."""
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel("readyz.")
    await layer.send(channel, {"type": "readyz.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "readyz.ping":
        raise RuntimeError("the channel layer returned another message")


async def _media() -> str:
    """ok: every Janus server answers; degraded: some do; unavailable: none does."""
    try:
        answering = await servers_answering(CHECK_TIMEOUT)
    except Exception as error:  # any failure means "not ready"; the kind is logged
        logger.warning("Readiness check media failed: %s", type(error).__name__)
        return "unavailable"
    up = sum(answering.values())
    if up < len(answering):
        logger.warning("Readiness check media: %s of %s servers answer", up, len(answering))
    if up == len(answering):
        return "ok"
    return "degraded" if up else "unavailable"
