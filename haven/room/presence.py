"""Which Haven process holds which meeting connection, and letting go of the people a
process held when it stops.

Every process with meeting connections writes a `ServerProcess` row every few seconds.
A participant row names the process that holds its connection (`Participant.server`).
When a process dies its connections close without anyone marking the people as gone;
another process notices that the row has gone stale and marks them as left (they were
disconnected), telling the meeting, unless their browser resumed on another process
first (docs/architecture.md, "Several Haven processes").
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)

# This process, as participant rows and the process table name it.
SERVER_NAME = f"s_{secrets.token_hex(8)}"


def gone_after() -> dt.timedelta:
    """A process silent this long is gone (HAVEN_SERVER_GONE_SECONDS, 20 by default): long
    enough for a busy one never to look dead, short enough that a roster is right again
    soon after a crash."""
    return dt.timedelta(seconds=settings.HAVEN_SERVER_GONE_SECONDS)


def beat_seconds() -> float:
    return max(0.5, settings.HAVEN_SERVER_GONE_SECONDS / 4)


_task: asyncio.Task[None] | None = None


def start_heartbeat() -> None:
    """Start this process's heartbeat (once; called as meeting connections open)."""
    global _task
    if _task is None or _task.done():
        _task = asyncio.get_running_loop().create_task(_beat_forever())


async def _beat_forever() -> None:
    while True:
        try:
            await database_sync_to_async(beat)()
        except Exception:
            logger.exception("Heartbeat of this Haven process failed")
        await asyncio.sleep(beat_seconds())


def beat(now: dt.datetime | None = None) -> int:
    """Say this process is alive; let go of what stopped processes held. Returns how
    many people were let go."""
    from haven.room.actions import let_go_of_server
    from haven.room.models import ServerProcess

    now = now or timezone.now()
    ServerProcess.objects.update_or_create(name=SERVER_NAME, defaults={"seen_at": now})
    cutoff = now - gone_after()
    stale = ServerProcess.objects.filter(seen_at__lt=cutoff)
    let_go = 0
    for name in list(stale.values_list("name", flat=True)):
        # Deleting the row claims the work: two processes never both let go of one.
        claimed, _ = ServerProcess.objects.filter(name=name, seen_at__lt=cutoff).delete()
        if claimed:
            let_go += let_go_of_server(name)
    if let_go:
        logger.warning("Let go of %d people held by Haven processes that stopped", let_go)
    return let_go
