"""Several Janus servers: this process's connection (a gateway) to each, and which answer.

A deployment lists its Janus servers (HAVEN_JANUS_SERVERS); ``MediaServers`` holds one
``MediaGateway`` per server, named by the server's address. Which meeting is on which
server is not kept here but in the database (``haven/room/placement.py``): this module
knows only the servers and whether this process can reach them. No Django in it.

A server whose connection drops, that hangs with its socket open (the client's probe
drops the socket then), or that did not answer at start, is down from then on: since it
was last heard from.
Its client keeps reconnecting. If it comes back within ``failover_after`` seconds, its
gateway resets as it always did for one Janus (rooms are made again on the same server).
If it does not, ``on_lost(name)`` is awaited, and again every ``failover_after`` seconds
while it stays down, so that its owner can move the server's meetings to another one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from haven.media.gateway import MediaGateway
from haven.media.janus import JanusClient, JanusClientError

log = logging.getLogger(__name__)

ServerCallback = Callable[[str], Awaitable[None]]

# How often the servers' connections are looked at, and a server that never answered is
# tried again, in seconds.
CHECK_INTERVAL = 0.25
RETRY_START_EVERY = 1.0


@dataclass(eq=False)
class MediaServer:
    """One Janus server of the deployment, as this process sees it."""

    name: str  # its address as configured: what a meeting placed on it stores
    gateway: MediaGateway
    # Event-loop time since when it has not answered; None while connected.
    down_since: float | None = None
    lost_told_at: float | None = None
    next_start_at: float = 0.0
    starting: asyncio.Future[None] | None = None

    @property
    def reachable(self) -> bool:
        """Whether this process is connected to it now."""
        return self.gateway.client.connected


class MediaServers:
    """This process's connections to every Janus server of the deployment."""

    def __init__(
        self,
        urls: Iterable[str],
        api_secret: str,
        admin_key: str,
        *,
        failover_after: float,
        on_lost: ServerCallback | None = None,
    ) -> None:
        self.failover_after = failover_after
        self.on_lost = on_lost
        self._servers = {
            url: MediaServer(url, MediaGateway(JanusClient(url, api_secret), admin_key))
            for url in urls
        }
        if not self._servers:
            raise ValueError("at least one media server is needed")
        self._watch: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<MediaServers {len(self._servers)} reachable={len(self.reachable())}>"

    @property
    def names(self) -> list[str]:
        """Every server's name, in the configured order."""
        return list(self._servers)

    def reachable(self) -> list[str]:
        """The servers this process is connected to now, in the configured order."""
        return [name for name, server in self._servers.items() if server.reachable]

    def server(self, name: str) -> MediaServer:
        """One server by name; KeyError for a name that is not configured."""
        return self._servers[name]

    def gateway(self, name: str) -> MediaGateway:
        """The gateway to one server; KeyError for a name that is not configured."""
        return self._servers[name].gateway

    def gateways(self) -> list[MediaGateway]:
        return [server.gateway for server in self._servers.values()]

    def add_reset_listener(self, listener: ServerCallback) -> None:
        """Call ``listener(name)`` after a server's gateway resets (it lost every room)."""
        for name, server in self._servers.items():
            server.gateway.add_reset_listener(_bound(listener, name))

    async def start(self) -> None:
        """Connect to every server at once. One that does not answer is down, not an
        error: it is tried again in the background."""
        names = list(self._servers)
        clients = [self._servers[name].gateway.client for name in names]
        results = await asyncio.gather(*(c.start() for c in clients), return_exceptions=True)
        now = asyncio.get_running_loop().time()
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("Janus server %s does not answer: %s", name, result)
                self._servers[name].down_since = now
                self._servers[name].next_start_at = now + RETRY_START_EVERY
        self._watch = asyncio.ensure_future(self._watch_loop())

    async def close(self) -> None:
        """Stop watching and close every connection."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        for server in self._servers.values():
            if server.starting is not None:
                server.starting.cancel()
            await server.gateway.client.close()

    async def check(self) -> None:
        """Look at every server once: note which are down, try again those that never
        answered, and tell ``on_lost`` about those down longer than ``failover_after``."""
        now = asyncio.get_running_loop().time()
        for server in self._servers.values():
            if server.reachable:
                server.down_since = server.lost_told_at = None
                continue
            if server.down_since is None:
                # A frozen Janus went quiet before the probe gave up on it: count from then.
                lost_at = server.gateway.client.lost_at
                server.down_since = now if lost_at is None else min(lost_at, now)
            self._retry_start(server, now)
            if self._lost_news_due(server, now):
                server.lost_told_at = now
                await self._tell_lost(server.name)

    def _retry_start(self, server: MediaServer, now: float) -> None:
        """A client that never connected does not reconnect by itself: start it again."""
        client = server.gateway.client
        busy = server.starting is not None and not server.starting.done()
        if client.started or busy or now < server.next_start_at:
            return
        server.next_start_at = now + RETRY_START_EVERY
        server.starting = asyncio.ensure_future(client.start())
        server.starting.add_done_callback(_ignore_failure)

    def _lost_news_due(self, server: MediaServer, now: float) -> bool:
        assert server.down_since is not None
        if now - server.down_since < self.failover_after:
            return False
        told = server.lost_told_at
        return told is None or now - told >= self.failover_after

    async def _tell_lost(self, name: str) -> None:
        log.warning("Janus server %s has not answered for %s s", name, self.failover_after)
        if self.on_lost is None:
            return
        try:
            await self.on_lost(name)
        except Exception:
            log.exception("moving the meetings of a lost Janus server failed")

    async def _watch_loop(self) -> None:
        while True:
            await asyncio.sleep(CHECK_INTERVAL)
            await self.check()


def _bound(listener: ServerCallback, name: str) -> Callable[[], Awaitable[None]]:
    async def call() -> None:
        await listener(name)

    return call


def _ignore_failure(attempt: asyncio.Future[None]) -> None:
    """A start that failed again: the server is still down; the watch tries later."""
    if attempt.cancelled():
        return
    error = attempt.exception()
    if isinstance(error, JanusClientError):
        log.debug("Janus server still does not answer: %s", error)
    elif error is not None:
        log.error("starting a Janus client failed: %r", error)
