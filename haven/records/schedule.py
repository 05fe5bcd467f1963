"""The retention job the server runs on a schedule (rule D3), beside `destroy_expired`.

`manage.py serve` runs `retention_schedule` on its event loop; each run is the same
`run_retention` as the command, in a worker thread. Meetings it ends are told so, as
when the host presses End, and their media rooms are closed.
"""

import asyncio
import logging

from channels.db import database_sync_to_async

from haven.records.retention import RetentionRun, run_retention

logger = logging.getLogger(__name__)


async def retention_schedule(interval_minutes: float) -> None:
    """Run the retention job a minute after start (so a server restarted more often than
    the interval still runs it), then every `interval_minutes`, until cancelled."""
    wait = min(interval_minutes, 1.0)
    while True:
        await asyncio.sleep(wait * 60)
        wait = interval_minutes
        try:
            run: RetentionRun = await database_sync_to_async(run_retention)("schedule")
        except Exception:
            logger.exception("The retention job failed; it runs again at the next interval.")
            continue
        if any(run.counts.values()):
            logger.info("Retention job: %s", run.counts)
        await _close_media_rooms(run.ended_rooms)


async def _close_media_rooms(room_keys: list[str]) -> None:
    # Imported here: the media client pulls in the room app.
    from haven.room.media import MEDIA_FAILURES, existing_gateway

    gateway = existing_gateway()
    if gateway is None:
        return  # no room was ever opened by this process
    for room_key in room_keys:
        try:
            await gateway.destroy_room(room_key)
        except MEDIA_FAILURES:
            logger.warning("Could not destroy the media room of a meeting the job ended.")
