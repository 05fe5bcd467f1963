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
import hashlib
import logging
import secrets

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from haven.threads import DedicatedThread

logger = logging.getLogger(__name__)


def _layer_prefix() -> str:
    """Processes that share a channel layer share this prefix. Only they can tell each
    other's meetings anything, so only they let go of each other's people: a process on
    its own in-memory layer could mark people left but never tell the hosts who watch
    them from a Redis-backed process (and the reverse)."""
    if not settings.REDIS_URL:
        return "m_"
    return f"r_{hashlib.sha256(settings.REDIS_URL.encode()).hexdigest()[:8]}_"


LAYER_PREFIX = _layer_prefix()
# This process, as participant rows and the process table name it.
SERVER_NAME = f"{LAYER_PREFIX}{secrets.token_hex(8)}"


def gone_after() -> dt.timedelta:
    """A process silent this long is gone (HAVEN_SERVER_GONE_SECONDS, 20 by default): long
    enough for a busy one never to look dead, short enough that a roster is right again
    soon after a crash."""
    return dt.timedelta(seconds=settings.HAVEN_SERVER_GONE_SECONDS)


def beat_seconds() -> float:
    return max(0.5, settings.HAVEN_SERVER_GONE_SECONDS / 4)


_task: asyncio.Task[None] | None = None
# Off the shared database thread that every meeting waits on, and off the retention job's:
# a heartbeat held up behind either would make this process look gone to the others.
_heartbeat_thread = DedicatedThread("heartbeat")
_stopping = False
# The close code uvicorn gives the sockets it closes as it stops (RFC 6455: service restart).
SERVER_STOPPING = 1012


def stopping() -> None:
    """This process is stopping: the sockets it closes now keep their places."""
    global _stopping
    _stopping = True


def keeps_place(close_code: int) -> bool:
    """Does a connection closed with this code keep its person's place for a resume?

    Only when this process is stopping (a restart or an upgrade): the browser reconnects
    to another process at once and resumes there, and if it does not, another process
    lets the place go once this one has been gone for HAVEN_SERVER_GONE_SECONDS. A code a
    browser sends counts for nothing: its place ends with its connection, as always.
    """
    return _stopping and close_code == SERVER_STOPPING


def start_heartbeat() -> None:
    """Start this process's heartbeat (once; called as meeting connections open)."""
    global _task
    if _task is None or _task.done():
        _task = asyncio.get_running_loop().create_task(_beat_forever())


async def _beat_forever() -> None:
    while True:
        try:
            await _heartbeat_thread.run(beat)
        except (OperationalError, InterfaceError) as error:
            # The database is down for a moment (a restart): the next beat tries again.
            logger.warning("Heartbeat of this Haven process failed: %s", error)
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
    stale = ServerProcess.objects.filter(seen_at__lt=cutoff, name__startswith=LAYER_PREFIX)
    let_go = 0
    for name in list(stale.values_list("name", flat=True)):
        # Deleting the row claims the work: two processes never both let go of one.
        claimed, _ = ServerProcess.objects.filter(name=name, seen_at__lt=cutoff).delete()
        if claimed:
            let_go += let_go_of_server(name)
    if let_go:
        logger.warning("Let go of %d people held by Haven processes that stopped", let_go)
    return let_go
