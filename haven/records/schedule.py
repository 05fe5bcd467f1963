"""The retention job the server runs on a schedule (rule D3), beside `destroy_expired`.

`manage.py serve` runs `retention_schedule` on its event loop; each run is the same
`run_retention` as the command, in a thread of its own (never the database thread that
every meeting's requests share: a long run would hold them all up). Meetings it ends are
told so, as when the host presses End, and their media rooms are closed; so are the rooms
of meetings ended elsewhere (by `destroy_expired` from cron, which cannot reach this process).
"""

import asyncio
import contextlib
import logging
import uuid

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import InterfaceError, OperationalError

from haven.meetings.models import Meeting
from haven.records.retention import RetentionRun, run_retention
from haven.threads import DedicatedThread

logger = logging.getLogger(__name__)

_retention_thread = DedicatedThread("retention")


async def retention_schedule(interval_minutes: float) -> None:
    """Run the retention job a minute after start (so a server restarted more often than
    the interval still runs it), then every `interval_minutes`, until cancelled."""
    wait = min(interval_minutes, 1.0)
    while True:
        await asyncio.sleep(wait * 60)
        wait = interval_minutes
        try:
            run: RetentionRun = await _retention_thread.run(run_retention, "schedule")
        except (OperationalError, InterfaceError) as error:
            # The database is down for a moment (a restart): not a fault in the job.
            logger.warning("The retention job could not reach the database: %s", error)
            continue
        except Exception:
            logger.exception("The retention job failed; it runs again at the next interval.")
            continue
        if any(run.counts.values()):
            logger.info("Retention job: %s", run.counts)
        await _close_media_rooms(run.ended_rooms)


async def _close_media_rooms(ended_here: list[str]) -> None:
    # Imported here: the media client pulls in the room app.
    from haven.room import groups
    from haven.room.media import MEDIA_FAILURES, existing_gateways

    gateways = existing_gateways()
    if not gateways:
        return  # no room was ever opened by this process
    open_rooms = [key for gateway in gateways for key in gateway.room_keys()]
    ended_elsewhere = await database_sync_to_async(_ended_meetings)(open_rooms)
    layer = get_channel_layer()
    assert layer is not None
    for meeting in ended_elsewhere:
        if meeting.room_key not in ended_here:  # those were told when the job ended them
            await layer.group_send(groups.everyone(meeting), {"type": "room.ended"})
    # Each server destroys only the rooms it has open (destroy_room ignores the others).
    for room_key in {*ended_here, *(meeting.room_key for meeting in ended_elsewhere)}:
        for gateway in gateways:
            try:
                await gateway.destroy_room(room_key)
            except MEDIA_FAILURES:
                logger.warning("Could not destroy the media room of an ended meeting.")


def _ended_meetings(room_keys: list[str]) -> list[Meeting]:
    """The ended meetings among these media rooms' meetings."""
    ids = []
    for key in room_keys:
        with contextlib.suppress(ValueError):
            ids.append(uuid.UUID(key.removeprefix("meeting-")))
    return list(Meeting.objects.filter(public_id__in=ids, state=Meeting.State.ENDED))
