"""This server process's connections to the media servers, made on first use, and which
one each meeting is on (haven/room/placement.py)."""

import asyncio
import contextvars
import logging

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from haven.media.gateway import MediaError, MediaGateway, MediaUnavailable
from haven.media.janus import JanusError, JanusTimeout, JanusUnavailable
from haven.media.pool import MediaServers
from haven.meetings.models import Meeting
from haven.room import groups, placement
from haven.room.actions import channels_in_meetings_held_here

logger = logging.getLogger(__name__)

# What a media request can fail with; the consumer answers `media_unavailable`.
MEDIA_FAILURES = (MediaError, JanusError, JanusTimeout, JanusUnavailable, OSError)

_servers: MediaServers | None = None
_starting: "asyncio.Future[MediaServers] | None" = None
# Meeting id -> the server it was found on: saves a trip to the database for each person's
# media. Forgotten when that server resets or is lost, or the meeting is told it moved.
_placed: dict[int, str] = {}
# Lost server -> the start of the outage this process's own connections were told about.
_told_lost: dict[str, float | None] = {}


def existing_gateways() -> list[MediaGateway]:
    """The media gateways, if this process has connected to the media servers already."""
    return _servers.gateways() if _servers is not None else []


async def get_servers() -> MediaServers:
    """The process-wide connections to every media server, made the first time (servers
    that do not answer yet are tried again in the background)."""
    global _starting
    if _servers is not None:
        return _servers
    if _starting is None:
        # In a context of its own: the first caller may be an HTTP request (/readyz), and
        # the clients' background tasks inherit the context they start in. In a request's,
        # their database calls would go to its thread, which is gone once it is answered.
        loop = asyncio.get_running_loop()
        _starting = loop.create_task(_start_servers(), context=contextvars.Context())
    # Shielded: a caller that gives up (a probe's timeout) does not stop the start.
    return await asyncio.shield(_starting)


async def _start_servers() -> MediaServers:
    global _servers, _starting
    servers = MediaServers(
        settings.HAVEN_JANUS_SERVERS,
        settings.HAVEN_JANUS_API_SECRET,
        settings.HAVEN_JANUS_ADMIN_KEY,
        failover_after=settings.HAVEN_JANUS_FAILOVER_SECONDS,
        on_lost=move_meetings_off,
    )
    servers.add_reset_listener(tell_meetings_media_restarted)
    try:
        await servers.start()
    except BaseException:
        _starting = None  # the next caller tries again
        raise
    _servers = servers
    return servers


async def gateway_for(meeting: Meeting) -> MediaGateway:
    """The gateway to the server this meeting is on, placing the meeting first if needed."""
    servers = await get_servers()
    name = _placed.get(meeting.pk)
    if name is None or not servers.server(name).reachable:
        try:
            name = await database_sync_to_async(placement.place)(
                meeting.pk, servers.names, servers.reachable()
            )
        except placement.NoMediaServer as error:
            raise MediaUnavailable(str(error)) from None
        if name not in servers.names:  # placed by a process with another server list
            raise MediaUnavailable("the meeting is on a media server not configured here")
        _placed[meeting.pk] = name
    return servers.gateway(name)


def forget_placement(meeting: Meeting, server: str) -> None:
    """The meeting is no longer known to be on ``server`` (it moved, or the server reset)."""
    if _placed.get(meeting.pk) == server:
        del _placed[meeting.pk]


async def tell_meetings_media_restarted(server: str) -> None:
    """A Janus server lost every room (or this process lost its connection to it, and with
    it every Janus session there): everyone whose media this process holds on that server
    must publish and subscribe again. Only this process's connections: each Haven process
    has its own Janus connections and notices its own reset, so a broadcast to whole
    meetings would reset everyone once per process. Connections whose media is on another
    server ignore it."""
    logger.warning("Janus server %s restarted: asking its meetings to reconnect media.", server)
    _forget_server(server)
    layer = get_channel_layer()
    assert layer is not None
    for channel in await database_sync_to_async(channels_in_meetings_held_here)():
        await layer.send(channel, {"type": "room.media_reset", "server": server})


async def move_meetings_off(server: str) -> None:
    """A Janus server stayed down (called again every grace period while it does): move
    its meetings to the others, and tell everyone in each meeting this process moved, on
    every Haven process, to reconnect their media (which then goes to the new server).

    Once per outage, this process also tells its own connections in meetings now on other
    servers, in case another process moved theirs first: connections whose media is not
    on the lost server (already reconnected, or never there) ignore it. A meeting that
    could not move (no other server answers) is not told: its people reconnect when the
    server comes back, as with one Janus."""
    _forget_server(server)
    servers = await get_servers()
    moved = await database_sync_to_async(placement.move_meetings_off)(server, servers.reachable())
    if moved:
        logger.warning("Janus server %s is down: meetings moved off it: %s", server, len(moved))
    layer = get_channel_layer()
    assert layer is not None
    event = {"type": "room.media_reset", "server": server}
    for meeting in moved:
        await layer.group_send(groups.in_meeting(meeting), event)
    outage = servers.server(server).down_since
    if server in _told_lost and _told_lost[server] == outage:
        return
    _told_lost[server] = outage
    held = database_sync_to_async(channels_in_meetings_held_here)
    for channel in await held(not_on_media_server=server):
        await layer.send(channel, event)


def _forget_server(server: str) -> None:
    for meeting_pk in [pk for pk, name in _placed.items() if name == server]:
        del _placed[meeting_pk]


async def servers_answering(timeout: float) -> dict[str, bool]:
    """Whether each media server answers an `info` request within ``timeout`` seconds."""

    async def answers(gateway: MediaGateway) -> bool:
        try:
            async with asyncio.timeout(timeout):
                await gateway.client.info()
        except Exception:  # down, refusing or slow: not answering
            return False
        return True

    try:
        async with asyncio.timeout(timeout):
            servers = await get_servers()
    except TimeoutError:
        return dict.fromkeys(settings.HAVEN_JANUS_SERVERS, False)
    results = await asyncio.gather(*(answers(servers.gateway(n)) for n in servers.names))
    return dict(zip(servers.names, results, strict=True))
