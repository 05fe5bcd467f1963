"""A thin asyncio client for the Janus API over a websocket.

One ``JanusClient`` holds one websocket. Every request carries a random transaction id
and the api secret; its answer resolves a future. Plugin messages are answered by an
``ack`` and then an ``event`` with the same transaction; synchronous plugin requests by
a ``success`` carrying the plugin data. Messages that answer no pending transaction go
to the ``on_event`` callback of the handle (or session) they name.

When the websocket drops (Janus restarted or crashed), Janus has already destroyed our
sessions (``reclaim_session_timeout = 0``): pending requests fail with
``JanusUnavailable``, every session and handle becomes invalid, and the client
reconnects in the background. Once connected again it awaits ``on_reset()`` so its owner
can rebuild rooms. Requests made while disconnected fail at once.

A Janus that hangs with its socket open (frozen, deadlocked, swapped out) is treated the
same way: a probe pings it every ``PROBE_INTERVAL`` seconds, and when nothing at all has
come from it for ``PROBE_BOUND`` seconds of event-loop time the client drops the socket
itself, as if Janus had. ``lost_at`` then says when Janus was last heard from.

Events are handed to their callbacks by one task per session, in the order Janus sent
them: a callback that waits (for the database, or for another Janus request) holds up
only its own session's events, never the reader or anyone else's.

Request bodies are never logged, and exceptions carry only Janus's code and reason:
bodies hold the room secret and the VideoRoom admin key.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.typing import Subprotocol

log = logging.getLogger(__name__)
requests_log = logging.getLogger("haven.media.requests")

VIDEOROOM = "janus.plugin.videoroom"
EventCallback = Callable[[dict[str, Any]], Awaitable[None]]
ResetCallback = Callable[[], Awaitable[None]]

# Reconnect backoff in seconds; the last value repeats, with some jitter.
RECONNECT_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0)
# The frozen-Janus probe: a ping this often; silent for the bound means hung (item 9).
PROBE_INTERVAL = 0.5
PROBE_BOUND = 1.0
# Closing the socket politely must not wait long on a Janus that does not answer.
CLOSE_TIMEOUT = 1.0


class JanusClientError(Exception):
    """Base class of everything this client raises about Janus."""


class JanusUnavailable(JanusClientError):
    """Janus cannot be reached, the connection dropped, or the session is gone."""


class JanusTimeout(JanusClientError):
    """Janus did not answer a request in time."""


class JanusError(JanusClientError):
    """Janus (or a plugin) answered a request with an error."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"Janus error {code}: {reason}")
        self.code = code
        self.reason = reason


class ForbiddenRequest(ValueError):
    """A plugin request that Haven must never send (policy S7)."""


def check_request_allowed(body: Mapping[str, Any], owner_feed: int | None = None) -> None:
    """Refuse plugin requests that could record, forward or unmute someone else's media.

    Haven never records (S7) and never forwards RTP anywhere. An unmute (a ``moderate``
    with mute false) may only travel over the handle of the publisher it unmutes:
    ``owner_feed`` is the feed that the sending handle itself publishes (V3: nobody but
    the person can unmute them). ``JanusClient.send`` applies this guard to every plugin
    message, so that no code path can do any of it by accident. Raises ForbiddenRequest.
    """
    request = str(body.get("request", ""))
    if "record" in request or "rtp_forward" in request:
        raise ForbiddenRequest(f"request {request!r} is not allowed")
    if body.get("record") is True:
        raise ForbiddenRequest("recording is not allowed")
    if "mute" in body and body["mute"] is not True:
        own = request == "moderate" and owner_feed is not None and body.get("id") == owner_feed
        if not own:
            raise ForbiddenRequest("unmuting anyone but the sender's own stream is not allowed")


@dataclass
class _Pending:
    future: asyncio.Future[dict[str, Any]]
    # Plugin messages: skip the ack and wait for the event (or success/error).
    wait_past_ack: bool


@dataclass(eq=False)
class JanusHandle:
    """A plugin handle inside a Janus session."""

    session: JanusSession = field(repr=False)
    handle_id: int
    on_event: EventCallback | None = field(default=None, repr=False)
    alive: bool = True
    opaque_id: str = ""
    # The feed this handle publishes, once it has joined as a publisher: the only feed
    # an unmute sent over this handle may name (see check_request_allowed).
    owner_feed: int | None = None

    @property
    def client(self) -> JanusClient:
        """The client this handle talks through."""
        return self.session.client

    def _envelope(self, janus: str, **extra: Any) -> dict[str, Any]:
        if not self.alive or not self.session.alive:
            raise JanusUnavailable("this Janus handle no longer exists")
        return {
            "janus": janus,
            "session_id": self.session.session_id,
            "handle_id": self.handle_id,
            **extra,
        }

    async def request(
        self, body: Mapping[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Send a plugin request and return its plugin data (create, allowed, ...)."""
        data, _jsep = await self.message(body, timeout=timeout)
        return data

    async def message(
        self,
        body: Mapping[str, Any],
        jsep: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Send a plugin message; return (plugin data, jsep or None).

        Works for asynchronous requests (ack, then an event) and synchronous ones (a
        success). Plugin errors raise JanusError with the plugin's error code.
        """
        extra: dict[str, Any] = {"body": dict(body)}
        if jsep is not None:
            extra["jsep"] = dict(jsep)
        reply = await self.client.send(
            self._envelope("message", **extra),
            wait_past_ack=True,
            timeout=timeout,
            owner_feed=self.owner_feed,
            label=self.opaque_id,
        )
        data = reply.get("plugindata", {}).get("data", {})
        if not isinstance(data, dict):
            raise JanusError(0, "plugin answered without data")
        if "error_code" in data:
            raise JanusError(int(data["error_code"]), str(data.get("error", "plugin error")))
        answer_jsep = reply.get("jsep")
        return data, answer_jsep if isinstance(answer_jsep, dict) else None

    async def trickle(self, candidate: Mapping[str, Any] | None) -> None:
        """Send one ICE candidate; None says gathering is complete."""
        payload = {"completed": True} if candidate is None else dict(candidate)
        await self.client.send(self._envelope("trickle", candidate=payload))

    async def detach(self, *, timeout: float | None = None) -> None:
        """Detach the handle (tears down its PeerConnection)."""
        envelope = self._envelope("detach")
        self.alive = False
        self.session.handles.pop(self.handle_id, None)
        self.client._forget_handle(self.handle_id)
        await self.client.send(envelope, timeout=timeout)


@dataclass(eq=False)
class JanusSession:
    """A Janus session; kept alive by the client's keepalive task."""

    client: JanusClient = field(repr=False)
    session_id: int
    handles: dict[int, JanusHandle] = field(default_factory=dict, repr=False)
    alive: bool = True
    # Events for this session's handles, in Janus's order, and the task handing them on.
    _events: collections.deque[tuple[EventCallback, dict[str, Any]]] = field(
        default_factory=collections.deque, repr=False
    )
    _dispatcher: asyncio.Task[None] | None = field(default=None, repr=False)

    async def attach(
        self,
        plugin: str = VIDEOROOM,
        *,
        opaque_id: str | None = None,
        on_event: EventCallback | None = None,
    ) -> JanusHandle:
        """Attach a plugin handle to this session."""
        if not self.alive:
            raise JanusUnavailable("this Janus session no longer exists")
        request: dict[str, Any] = {
            "janus": "attach",
            "session_id": self.session_id,
            "plugin": plugin,
        }
        if opaque_id is not None:
            request["opaque_id"] = opaque_id
        reply = await self.client.send(request)
        handle = JanusHandle(self, int(reply["data"]["id"]), on_event, opaque_id=opaque_id or "")
        self.handles[handle.handle_id] = handle
        self.client._remember_handle(handle)
        return handle

    async def keepalive(self, *, timeout: float | None = None) -> None:
        """Tell Janus this session is still in use."""
        if not self.alive:
            raise JanusUnavailable("this Janus session no longer exists")
        await self.client.send(
            {"janus": "keepalive", "session_id": self.session_id}, timeout=timeout
        )

    async def destroy(self, *, timeout: float | None = None) -> None:
        """Destroy the session and, with it, all its handles."""
        was_alive = self.alive
        self.abandon()
        if was_alive:
            await self.client.send(
                {"janus": "destroy", "session_id": self.session_id}, timeout=timeout
            )

    def abandon(self) -> None:
        """Stop using the session without telling Janus: without keepalives, Janus drops
        it after its session_timeout. For a Janus that stopped answering."""
        self.invalidate()
        self.client._forget_session(self.session_id)

    def invalidate(self) -> None:
        """Mark the session and its handles as gone (Janus no longer has them)."""
        self.alive = False
        for handle in self.handles.values():
            handle.alive = False
            self.client._forget_handle(handle.handle_id)
        self.handles.clear()


class JanusClient:
    """One websocket to the Janus API, with transactions, keepalives and reconnects."""

    def __init__(
        self,
        url: str,
        api_secret: str,
        *,
        on_reset: ResetCallback | None = None,
        request_timeout: float = 10.0,
        keepalive_interval: float = 25.0,
        connect_timeout: float = 5.0,
        probe_interval: float = PROBE_INTERVAL,
        probe_bound: float = PROBE_BOUND,
    ) -> None:
        self.url = url
        self.probe_interval = probe_interval
        self.probe_bound = probe_bound
        self.on_reset = on_reset
        self.request_timeout = request_timeout
        self.keepalive_interval = keepalive_interval
        self.connect_timeout = connect_timeout
        self.resets = 0  # how many times the connection was re-established
        self._api_secret = api_secret
        self._ws: ClientConnection | None = None
        self._pending: dict[str, _Pending] = {}
        self._sessions: dict[int, JanusSession] = {}
        self._handles: dict[int, JanusHandle] = {}
        # Event-loop time of the last message from Janus; of the loss while disconnected.
        self._heard_at = 0.0
        self.lost_at: float | None = None
        self.freezes = 0  # how many times Janus was found hung with its socket open
        self._tasks: set[asyncio.Task[None]] = set()
        self._reconnecting: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._started = False
        self._closing = False

    def __repr__(self) -> str:
        return f"<JanusClient {self.url} connected={self.connected}>"

    @property
    def connected(self) -> bool:
        """Whether the websocket to Janus is up."""
        return self._ws is not None

    @property
    def started(self) -> bool:
        """Whether start() succeeded (and close() was not called since): from then on the
        client reconnects by itself whenever the connection drops."""
        return self._started

    async def start(self, *, wait: float = 0.0) -> None:
        """Connect; keep trying for up to ``wait`` seconds. Raises JanusUnavailable."""
        if self._started:
            raise RuntimeError("JanusClient.start() called twice")
        self._closing = False
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            try:
                await self._connect()
                break
            except JanusUnavailable:
                if asyncio.get_running_loop().time() >= deadline:
                    raise
                await asyncio.sleep(0.2)
        self._started = True
        self._spawn(self._keepalive_loop())
        self._spawn(self._probe_loop())

    async def wait_connected(self, timeout: float) -> None:
        """Wait until connected (e.g. after a reconnect); raises JanusUnavailable."""
        try:
            async with asyncio.timeout(timeout):
                await self._connected.wait()
        except TimeoutError:
            raise JanusUnavailable(f"not connected to Janus after {timeout} s") from None

    async def close(self) -> None:
        """Stop reconnecting, close the websocket and invalidate every session."""
        self._closing = True
        self._started = False
        tasks = [*self._tasks, *([self._reconnecting] if self._reconnecting else [])]
        # close() may be called from an event callback or on_reset: don't await ourselves.
        tasks = [task for task in tasks if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        ws, self._ws = self._ws, None
        self._connected.clear()
        if ws is not None:
            with contextlib.suppress(WebSocketException, OSError):
                await ws.close()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._drop_state("the Janus client was closed")

    async def info(self) -> dict[str, Any]:
        """The server's ``server_info`` (version, plugins, transports, ...)."""
        return await self.send({"janus": "info"})

    async def create_session(self) -> JanusSession:
        """Create a Janus session, kept alive by this client until destroyed."""
        reply = await self.send({"janus": "create"})
        session = JanusSession(self, int(reply["data"]["id"]))
        self._sessions[session.session_id] = session
        return session

    async def send(
        self,
        payload: Mapping[str, Any],
        *,
        wait_past_ack: bool = False,
        timeout: float | None = None,
        owner_feed: int | None = None,
        label: str = "",
    ) -> dict[str, Any]:
        """Send one Janus API request and return its answer.

        ``owner_feed`` and ``label`` come from the handle a plugin message is sent over:
        the feed it publishes (for the unmute guard) and its opaque id (for the log).
        Raises JanusUnavailable when not connected or the connection drops, JanusTimeout
        when no answer comes in time, and JanusError for a Janus ``error`` answer.
        """
        body = payload.get("body", {})
        if payload.get("janus") == "message":
            check_request_allowed(body, owner_feed)  # before anything else
        # Every request, named but without secrets or SDP: evidence of what reached Janus.
        requests_log.debug("%s %s %s", payload.get("janus"), body.get("request", "-"), label or "-")
        ws = self._ws
        if ws is None:
            raise JanusUnavailable("not connected to Janus")
        transaction = secrets.token_hex(12)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[transaction] = _Pending(future, wait_past_ack)
        message = {**payload, "transaction": transaction, "apisecret": self._api_secret}
        limit = self.request_timeout if timeout is None else timeout
        try:
            # The send is bounded too: a Janus that stopped reading fills the socket.
            async with asyncio.timeout(limit):
                await ws.send(json.dumps(message))
                reply = await future
        except ConnectionClosed:
            raise JanusUnavailable("connection to Janus lost") from None
        except TimeoutError:
            kind = payload.get("janus")
            raise JanusTimeout(f"Janus did not answer {kind!r} within {limit} s") from None
        finally:
            self._pending.pop(transaction, None)
        if reply.get("janus") == "error":
            error = reply.get("error", {})
            raise JanusError(int(error.get("code", 0)), str(error.get("reason", "unknown")))
        return reply

    # -- connection ---------------------------------------------------------------

    async def _connect(self) -> None:
        try:
            ws = await connect(
                self.url,
                subprotocols=[Subprotocol("janus-protocol")],
                open_timeout=self.connect_timeout,
                compression=None,
                proxy=None,
                max_size=4 * 1024 * 1024,
                close_timeout=CLOSE_TIMEOUT,
            )
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise JanusUnavailable(
                f"cannot connect to Janus at {self.url}: {type(exc).__name__}"
            ) from None
        self._ws = ws
        self._heard_at = asyncio.get_running_loop().time()
        self.lost_at = None
        self._connected.set()
        self._spawn(self._read_loop(ws))
        log.info("connected to Janus at %s", self.url)

    async def _read_loop(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                self._heard_at = asyncio.get_running_loop().time()
                self._on_message(raw)
        except ConnectionClosed:
            pass
        finally:
            if self._ws is ws:
                self._connection_lost()

    def _connection_lost(self, lost_at: float | None = None) -> None:
        log.warning("connection to Janus at %s lost; reconnecting", self.url)
        self.lost_at = asyncio.get_running_loop().time() if lost_at is None else lost_at
        self._ws = None
        self._connected.clear()
        self._drop_state("connection to Janus lost")
        if not self._closing and self._reconnecting is None:
            self._reconnecting = asyncio.create_task(self._reconnect_loop())

    def _drop_state(self, reason: str) -> None:
        """Fail pending requests and invalidate sessions: Janus no longer has them."""
        pending, self._pending = self._pending, {}
        for item in pending.values():
            if not item.future.done():
                item.future.set_exception(JanusUnavailable(reason))
        for session in list(self._sessions.values()):
            session.invalidate()
        self._sessions.clear()
        self._handles.clear()

    async def _reconnect_loop(self) -> None:
        attempt = 0
        try:
            while not self._closing:
                delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
                await asyncio.sleep(delay * random.uniform(1.0, 1.25))  # noqa: S311 - jitter
                attempt += 1
                try:
                    await self._connect()
                except JanusUnavailable:
                    continue
                break
        finally:
            self._reconnecting = None
        if self._closing or not self.connected:
            return
        self.resets += 1
        if self.on_reset is not None:
            try:
                await self.on_reset()
            except Exception:
                log.exception("on_reset callback failed after reconnecting to Janus")

    # -- incoming messages ----------------------------------------------------------

    def _on_message(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            log.warning("ignoring a message from Janus that is not JSON")
            return
        if not isinstance(message, dict):
            return
        transaction = message.get("transaction")
        if isinstance(transaction, str):
            self._resolve(transaction, message)
            return
        self._route_event(message)

    def _resolve(self, transaction: str, message: dict[str, Any]) -> None:
        pending = self._pending.get(transaction)
        if pending is None:
            # A late answer to a request that timed out: its caller has moved on.
            log.debug("dropping Janus %s for unknown transaction", message.get("janus"))
            return
        if message.get("janus") == "ack" and pending.wait_past_ack:
            return
        del self._pending[transaction]
        if not pending.future.done():
            pending.future.set_result(message)

    def _route_event(self, message: dict[str, Any]) -> None:
        kind = message.get("janus")
        if kind == "timeout":
            session = self._sessions.pop(int(message.get("session_id", 0)), None)
            if session is not None:
                handles = list(session.handles.values())
                session.invalidate()
                for handle in handles:
                    self._deliver(handle, message)
            return
        target = self._handles.get(int(message.get("sender", 0) or 0))
        if target is None:
            return
        if kind == "detached":
            target.alive = False
            target.session.handles.pop(target.handle_id, None)
            self._forget_handle(target.handle_id)
        self._deliver(target, message)

    def _deliver(self, handle: JanusHandle, message: dict[str, Any]) -> None:
        if handle.on_event is None:
            return
        session = handle.session
        session._events.append((handle.on_event, message))
        if session._dispatcher is None or session._dispatcher.done():
            session._dispatcher = self._spawn(self._dispatch(session))

    async def _dispatch(self, session: JanusSession) -> None:
        # One task per session, while it has events: in Janus's order within the session;
        # a callback that waits holds up no other session and never the reader.
        while session._events:
            callback, message = session._events.popleft()
            try:
                await callback(message)
            except Exception:
                log.exception("Janus event callback failed")

    # -- the frozen-Janus probe ---------------------------------------------------

    async def _probe_loop(self) -> None:
        while True:
            await asyncio.sleep(self.probe_interval)
            ws = self._ws
            if ws is None:
                continue
            loop = asyncio.get_running_loop()
            due = loop.time() + self.probe_bound
            with contextlib.suppress(JanusClientError):
                await self.send({"janus": "ping"}, timeout=self.probe_bound)
            if self._ws is ws and await self._silent_too_long(late=loop.time() - due):
                self._frozen(ws)

    async def _silent_too_long(self, late: float) -> bool:
        """Nothing from Janus for the bound, on the event loop's clock. A loop that was
        itself held up may not have read what arrived meanwhile: let the reader run first,
        and when the loop woke this probe late, give Janus another round."""
        for _ in range(3):
            await asyncio.sleep(0)
        silent = asyncio.get_running_loop().time() - self._heard_at >= self.probe_bound
        return silent and late < self.probe_interval / 2

    def _frozen(self, ws: ClientConnection) -> None:
        """Janus hangs with its socket open: drop the socket, as a crash would have."""
        log.warning(
            "Janus at %s has not answered for %s s; treating it as down", self.url, self.probe_bound
        )
        self.freezes += 1
        self._connection_lost(lost_at=self._heard_at)
        ws.transport.abort()

    # -- keepalives ---------------------------------------------------------------

    async def _keepalive_loop(self) -> None:
        while True:
            await asyncio.sleep(self.keepalive_interval)
            sessions = [s for s in self._sessions.values() if s.alive]
            if not self.connected or not sessions:
                continue
            results = await asyncio.gather(
                *(s.keepalive(timeout=self.keepalive_interval) for s in sessions),
                return_exceptions=True,
            )
            for session, result in zip(sessions, results, strict=True):
                self._after_keepalive(session, result)

    def _after_keepalive(self, session: JanusSession, result: object) -> None:
        if isinstance(result, JanusError) and result.code == 458:  # session not found
            session.invalidate()
            self._forget_session(session.session_id)
        elif isinstance(result, Exception):
            log.warning("keepalive for a Janus session failed: %s", result)

    # -- bookkeeping used by sessions and handles ---------------------------------

    def _spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _remember_handle(self, handle: JanusHandle) -> None:
        self._handles[handle.handle_id] = handle

    def _forget_handle(self, handle_id: int) -> None:
        self._handles.pop(handle_id, None)

    def _forget_session(self, session_id: int) -> None:
        self._sessions.pop(session_id, None)
