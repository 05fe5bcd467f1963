"""Haven's media layer against a real Janus, each test in a network namespace of its own.

Janus listens on 127.0.0.1 inside the namespace; the test bodies run in a thread that has
joined the namespace (``run_in_namespace``), so no traffic leaves it.
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
import secrets
import socket
import stat
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from haven.media.gateway import (
    MediaError,
    MediaEvent,
    MediaGateway,
    MediaRefused,
    MediaUnavailable,
    ParticipantMedia,
    room_id_for,
    translate_event,
)
from haven.media.janus import (
    ForbiddenRequest,
    JanusClient,
    JanusError,
    JanusHandle,
    JanusSession,
    JanusUnavailable,
    check_request_allowed,
)
from haven.media.janus_config import JanusSettings, janus_command, write_janus_config
from haven.media.janus_process import JanusProcess, JanusStartError, find_janus
from tests.harness.netns import Namespace, network_namespace, pick_port, run_in_namespace

REPO = Path(__file__).resolve().parents[1]
live = pytest.mark.live


# -- harness --------------------------------------------------------------------------


@dataclass
class Live:
    """A Janus running in the test's namespace, and what the test needs to talk to it."""

    settings: JanusSettings
    process: JanusProcess
    clients: list[JanusClient] = field(default_factory=list)

    async def client(self, **options: Any) -> JanusClient:
        """A started client; closed at the end of the test."""
        client = JanusClient(self.settings.api_url, self.settings.api_secret, **options)
        await client.start()
        self.clients.append(client)
        return client

    async def gateway(self, **options: Any) -> MediaGateway:
        """A gateway over a fresh client."""
        return MediaGateway(await self.client(**options), self.settings.admin_key)


Body = Callable[[Live], Awaitable[None]]


@pytest.fixture
def namespace() -> Iterator[Namespace]:
    """A fresh namespace per test (fails with a clear NamespaceError when not root)."""
    with network_namespace("hvmedia") as made:
        yield made


def run_live(namespace: Namespace, folder: Path, body: Body, **settings: Any) -> Live:
    """Start Janus in the namespace, run ``body`` there, stop everything."""
    janus_settings = JanusSettings.with_random_secrets(
        ws_port=pick_port(),
        admin_ws_port=pick_port(),
        ice_interface=namespace.ice_interface,
        **settings,
    )
    write_janus_config(folder, janus_settings)
    live_run = Live(
        janus_settings, JanusProcess(folder, janus_settings, prefix=namespace.exec_prefix)
    )

    async def main() -> None:
        try:
            async with asyncio.timeout(90):
                await body(live_run)
        finally:
            for client in live_run.clients:
                await client.close()

    def in_namespace() -> None:
        live_run.process.start()
        try:
            asyncio.run(main())
        finally:
            live_run.process.stop()

    run_in_namespace(namespace, in_namespace)
    return live_run


def synthetic_offer() -> str:
    """An SDP offer like a browser's (Opus + VP8, BUNDLE, rtcp-mux), without a real peer.

    Janus answers it; ICE then never completes, so the feed never becomes active.
    """
    fingerprint = ":".join(f"{b:02X}" for b in secrets.token_bytes(32))
    shared = [
        f"a=ice-ufrag:{secrets.token_hex(4)}",
        f"a=ice-pwd:{secrets.token_hex(12)}",
        "a=ice-options:trickle",
        f"a=fingerprint:sha-256 {fingerprint}",
        "a=setup:actpass",
        "a=sendonly",
        "a=rtcp-mux",
    ]
    audio = ["m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", *shared, "a=mid:0"]
    audio += ["a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;useinbandfec=1"]
    audio += ["a=ssrc:1111 cname:haven"]
    video = ["m=video 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0", *shared, "a=mid:1"]
    video += ["a=rtpmap:96 VP8/90000", "a=rtcp-fb:96 nack", "a=rtcp-fb:96 nack pli"]
    video += ["a=ssrc:2222 cname:haven"]
    head = ["v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0"]
    head += ["a=group:BUNDLE 0 1", "a=msid-semantic: WMS haven"]
    return "\r\n".join([*head, *audio, *video]) + "\r\n"


async def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


async def list_rooms(client: JanusClient, admin_key: str | None) -> dict[int, dict[str, Any]]:
    """VideoRoom's room list (private rooms only show with the admin key)."""
    session = await client.create_session()
    handle = await session.attach(opaque_id="haven-test")
    body: dict[str, Any] = {"request": "list"}
    if admin_key is not None:
        body["admin_key"] = admin_key
    data = await handle.request(body)
    await session.destroy()
    return {int(room["room"]): room for room in data["list"]}


# -- configuration (no Janus needed) ------------------------------------------------------


def test_config_files_are_private_and_enable_only_what_haven_uses(tmp_path: Path) -> None:
    settings = JanusSettings.with_random_secrets(
        ws_port=48188, admin_ws_port=47188, ice_interface="hv0"
    )
    folder = write_janus_config(tmp_path / "janus", settings)
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "janus.jcfg",
        "janus.plugin.videoroom.jcfg",
        "janus.transport.websockets.jcfg",
    ]
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    core = (folder / "janus.jcfg").read_text()
    assert f'api_secret = "{settings.api_secret}"' in core
    assert f'admin_secret = "{settings.admin_secret}"' in core
    assert "session_timeout = 60" in core
    assert 'ice_enforce_list = "hv0"' in core
    assert "libjanus_videoroom.so" not in core and "libjanus_websockets.so" not in core
    for disabled in ("libjanus_streaming.so", "libjanus_http.so", "libjanus_jsonlog.so"):
        assert disabled in core
    assert "libjanus_sampleevh.so" in core and "broadcast = false" in core
    ws = (folder / "janus.transport.websockets.jcfg").read_text()
    for line in ('ws_ip = "127.0.0.1"', 'ws_acl = "127."', 'json = "compact"', "wss = false"):
        assert line in ws
    assert 'admin_ws_ip = "127.0.0.1"' in ws and "admin_ws_port = 47188" in ws
    videoroom = (folder / "janus.plugin.videoroom.jcfg").read_text()
    assert f'admin_key = "{settings.admin_key}"' in videoroom
    assert "lock_rtp_forward = true" in videoroom
    assert "room-" not in videoroom  # no demo rooms


def test_command_runs_janus_in_the_foreground_on_our_folder(tmp_path: Path) -> None:
    command = janus_command(tmp_path)
    assert command[:5] == [
        "/usr/bin/janus",
        "-C",
        str(tmp_path / "janus.jcfg"),
        "-F",
        str(tmp_path),
    ]
    assert "-b" not in command and "--daemon" not in command
    assert find_janus().name == "janus"


def test_settings_keep_secrets_out_of_repr_and_refuse_etc_janus(tmp_path: Path) -> None:
    settings = JanusSettings.with_random_secrets(
        ws_port=1000, admin_ws_port=1001, ice_interface=None
    )
    for secret in (settings.api_secret, settings.admin_secret, settings.admin_key):
        assert secret not in repr(settings)
    with pytest.raises(ValueError):
        write_janus_config(Path("/etc/janus"), settings)
    with pytest.raises(ValueError):
        JanusSettings(
            ws_port=1, api_secret='x"\n', admin_secret="y", admin_ws_port=2, admin_key="z",
            ice_interface=None,
        )  # fmt: skip
    config = (write_janus_config(tmp_path, settings) / "janus.jcfg").read_text()
    assert "ice_enforce_list" not in config


# -- Janus itself ----------------------------------------------------------------------


@live
def test_janus_loads_only_videoroom_and_websockets_on_loopback(
    namespace: Namespace, tmp_path: Path
) -> None:
    async def body(run: Live) -> None:
        info = run.process.server_info
        assert set(info["plugins"]) == {"janus.plugin.videoroom"}
        assert set(info["transports"]) == {"janus.transport.websockets"}
        assert info["events"] == {} and info["loggers"] == {}
        assert info["session-timeout"] == 60 and info["api_secret"] is True
        # The API needs the secret.
        intruder = JanusClient(run.settings.api_url, "wrong-secret")
        await intruder.start()
        with pytest.raises(JanusError) as refused:
            await intruder.create_session()
        assert refused.value.code == 403
        await intruder.close()
        # Both APIs listen on loopback only: not on the namespace's own address.
        for port in (run.settings.ws_port, run.settings.admin_ws_port):
            with pytest.raises(ConnectionRefusedError), socket.socket() as sock:
                sock.settimeout(2)
                sock.connect((namespace.host_address, port))
        # The admin API answers on loopback, with the admin secret only.
        assert (await admin_request(run, run.settings.admin_secret))["janus"] == "success"
        assert (await admin_request(run, "wrong"))["error"]["code"] == 403

    run = run_live(namespace, tmp_path, body)
    log = run.process.log_file.read_text()
    for secret in (run.settings.api_secret, run.settings.admin_secret, run.settings.admin_key):
        assert secret not in log


async def admin_request(run: Live, admin_secret: str) -> dict[str, Any]:
    """One list_sessions request on the admin websocket."""
    protocol = [Subprotocol("janus-admin-protocol")]
    async with connect(run.settings.admin_url, subprotocols=protocol, proxy=None) as ws:
        request = {"janus": "list_sessions", "transaction": "t1", "admin_secret": admin_secret}
        await ws.send(json.dumps(request))
        reply: dict[str, Any] = json.loads(await ws.recv())
    return reply


@live
def test_janus_start_failure_is_reported_with_its_log(namespace: Namespace, tmp_path: Path) -> None:
    def clash() -> None:
        settings = JanusSettings.with_random_secrets(
            ws_port=pick_port(), admin_ws_port=pick_port(), ice_interface="hv0"
        )
        first = JanusProcess(write_janus_config(tmp_path / "a", settings), settings)
        second = JanusProcess(write_janus_config(tmp_path / "b", settings), settings)
        first.start()
        try:
            with pytest.raises(JanusStartError, match="exited with code") as failed:
                second.start(timeout=10)
            assert "No Janus API transport is available" in str(failed.value)
            assert not second.running
        finally:
            first.stop()
            second.stop()
        assert not first.running

    run_in_namespace(namespace, clash)


# -- rooms and the token ACL ------------------------------------------------------------


@live
def test_rooms_are_private_with_recording_off_and_locked(
    namespace: Namespace, tmp_path: Path
) -> None:
    async def body(run: Live) -> None:
        gateway = await run.gateway()
        await gateway.ensure_room("meeting-1", max_publishers=4)
        await gateway.ensure_room("meeting-1", max_publishers=4)  # no-op the second time
        room = (await list_rooms(gateway.client, run.settings.admin_key))[room_id_for("meeting-1")]
        assert room["record"] is False and room["lock_record"] is True
        assert room["is_private"] is True and room["require_pvtid"] is True
        assert room["max_publishers"] == 4
        assert room["audiocodec"] == "opus" and room["videocodec"] == "vp8"
        assert room_id_for("meeting-1") not in await list_rooms(gateway.client, None)
        # Without the admin key, nobody creates rooms.
        session = await gateway.client.create_session()
        handle = await session.attach(opaque_id="haven-test")
        with pytest.raises(JanusError) as refused:
            await handle.request({"request": "create", "room": 77, "record": False})
        assert refused.value.code in (429, 433)
        # After a reset the gateway adopts the room Janus still has (same derived secret).
        await gateway.reset()
        await gateway.ensure_room("meeting-1", max_publishers=2)
        rooms = await list_rooms(gateway.client, run.settings.admin_key)
        assert rooms[room_id_for("meeting-1")]["max_publishers"] == 2
        await gateway.destroy_room("meeting-1")
        await gateway.destroy_room("meeting-1")  # gone already: fine
        assert room_id_for("meeting-1") not in await list_rooms(
            gateway.client, run.settings.admin_key
        )

    run_live(namespace, tmp_path, body)


@live
def test_join_needs_an_allowed_token_and_publish_answers_on_the_namespace_only(
    namespace: Namespace, tmp_path: Path
) -> None:
    sent: list[dict[str, Any]] = []
    room_secrets: list[str] = []

    async def body(run: Live) -> None:
        gateway = await run.gateway()
        spy_on_requests(gateway.client, sent)
        room_secrets.append(gateway._room_secret("m"))
        await gateway.ensure_room("m", max_publishers=2)
        with pytest.raises(MediaRefused) as refused:
            await gateway.open_participant("m", participant_id="p1", display="A", token="t1")
        assert refused.value.code == 433
        await gateway.allow("m", "t1")
        alice = await gateway.open_participant("m", participant_id="p1", display="A", token="t1")
        feed_id, answer = await alice.publish(synthetic_offer())
        assert feed_id == alice.feed_id
        check_answer(answer, namespace.host_address)
        # A feed whose PeerConnection never came up cannot be subscribed to.
        await gateway.allow("m", "t2")
        bob = await gateway.open_participant("m", participant_id="p2", display="B", token="t2")
        with pytest.raises(MediaRefused) as no_feed:
            await bob.subscribe(feed_id)
        assert no_feed.value.code == 428
        await alice.trickle(None, {"candidate": "", "sdpMid": "0"})
        await alice.trickle(None, None)
        await alice.unpublish()
        await alice.unpublish()  # not publishing any more: fine
        # Removing a token stops new joins with it.
        await gateway.disallow("m", "t1")
        with pytest.raises(MediaRefused):
            await gateway.open_participant("m", participant_id="p3", display="C", token="t1")
        await alice.close()
        await bob.close()
        with pytest.raises(MediaError):
            await alice.publish(synthetic_offer())

    run = run_live(namespace, tmp_path, body)
    assert any(p.get("janus") == "attach" and p["opaque_id"] == "haven-p1" for p in sent)
    for payload in sent:
        text = json.dumps(payload)
        assert '"record": true' not in text and '"mute": false' not in text
    log = run.process.log_file.read_text()
    assert run.settings.admin_key not in log and room_secrets[0] not in log
    assert any(p.get("body", {}).get("secret") == room_secrets[0] for p in sent)


def spy_on_requests(client: JanusClient, sent: list[dict[str, Any]]) -> None:
    """Record every request the client sends."""
    original = client.send

    async def spy(payload: Any, **options: Any) -> dict[str, Any]:
        sent.append(dict(payload))
        return await original(payload, **options)

    client.send = spy  # type: ignore[method-assign]


def check_answer(answer: str, host_address: str) -> None:
    """Janus's answer: Opus and VP8 only, and ICE candidates on the namespace's hv0 only."""
    assert "a=rtpmap:111 opus/48000/2" in answer and "VP8/90000" in answer
    assert "a=recvonly" in answer
    candidates = re.findall(r"^a=candidate:\S+ \d+ \S+ \d+ (\S+) \d+ typ (\S+)", answer, re.M)
    assert candidates, answer
    assert {address for address, _type in candidates} == {host_address}


# -- sessions: keepalives, reconnects, teardown ------------------------------------------


@live
def test_keepalives_keep_sessions_past_the_session_timeout(
    namespace: Namespace, tmp_path: Path
) -> None:
    async def body(run: Live) -> None:
        kept = await run.client(keepalive_interval=1.0)
        idle = await run.client(keepalive_interval=3600.0)
        kept_session = await kept.create_session()
        idle_session = await idle.create_session()
        events: list[dict[str, Any]] = []

        async def on_event(message: dict[str, Any]) -> None:
            events.append(message)

        started = time.monotonic()  # before the idle session's last request
        await idle_session.attach(opaque_id="haven-idle", on_event=on_event)
        # session_timeout is 3 s and Janus checks every 2 s: the idle session goes first.
        # On a timeout Janus sends the session's `timeout` from its sessions watchdog and
        # each handle's `detached` from the handle's own loop thread, in either order (on
        # a busy machine `detached` can come first). The session is gone for the client
        # only with the `timeout`: wait for that, not for the handle's first event.
        await wait_for(lambda: not idle_session.alive, 10, "the idle session to time out")
        assert time.monotonic() - started >= 3
        assert kept_session.alive
        await kept_session.attach(opaque_id="haven-kept")
        # Its handle heard once that it is gone, whichever came first (both mean "gone").
        await wait_for(lambda: bool(events), 5, "the idle handle's event")
        assert [e["janus"] for e in events] in (["timeout"], ["detached"]), events
        said = translate_event(events[0], None)
        assert said is not None and said.kind == "gone"
        with pytest.raises(JanusError) as gone:
            await idle.send({"janus": "keepalive", "session_id": idle_session.session_id})
        assert gone.value.code == 458

    run_live(namespace, tmp_path, body, session_timeout=3)


@live
def test_client_reconnects_after_a_janus_restart_and_rooms_come_back(
    namespace: Namespace, tmp_path: Path
) -> None:
    async def body(run: Live) -> None:
        gateway = await run.gateway()
        resets: list[float] = []

        async def on_reset() -> None:
            await gateway.ensure_room("m", max_publishers=2)  # what Haven will do
            await gateway.allow("m", "t1")
            # Only now: the test goes on to use the room as soon as this is appended.
            resets.append(time.monotonic())

        gateway.add_reset_listener(on_reset)
        await gateway.ensure_room("m", max_publishers=2)
        await gateway.allow("m", "t1")
        alice = await gateway.open_participant("m", participant_id="p1", display="A", token="t1")

        # A request in flight when Janus dies fails as unavailable, not as a timeout.
        # Frozen first (and really frozen: see freeze), so nothing can answer it.
        run.process.freeze()
        in_flight = asyncio.ensure_future(gateway.client.info())
        await asyncio.sleep(0.2)
        started = time.monotonic()
        run.process.kill()
        with pytest.raises(JanusUnavailable):
            await in_flight
        assert time.monotonic() - started < 2
        await wait_for(lambda: not gateway.client.connected, 5, "the client to notice")
        started = time.monotonic()
        with pytest.raises(JanusUnavailable):
            await gateway.client.create_session()
        with pytest.raises(MediaUnavailable):
            await alice.publish(synthetic_offer())
        with pytest.raises(MediaUnavailable):
            await gateway.open_participant("m", participant_id="p2", display="B", token="t1")
        assert time.monotonic() - started < 0.5  # failing at once, not after timeouts
        await alice.close()  # must not raise on a dead Janus

        run.process.start()
        await wait_for(lambda: bool(resets), 15, "on_reset to bring the room back")
        assert gateway.client.resets == 1
        bob = await gateway.open_participant("m", participant_id="p2", display="B", token="t1")
        _, answer = await bob.publish(synthetic_offer())
        check_answer(answer, namespace.host_address)
        room = (await list_rooms(gateway.client, run.settings.admin_key))[room_id_for("m")]
        assert room["record"] is False and room["lock_record"] is True
        await bob.close()

    run_live(namespace, tmp_path, body)


@live
def test_close_never_raises_on_a_dead_or_hung_janus(namespace: Namespace, tmp_path: Path) -> None:
    async def body(run: Live) -> None:
        gateway = await run.gateway()
        await gateway.ensure_room("m", max_publishers=2)
        await gateway.allow("m", "t1")
        hung = await gateway.open_participant("m", participant_id="p1", display="A", token="t1")
        dead = await gateway.open_participant("m", participant_id="p2", display="B", token="t1")
        await hung.publish(synthetic_offer())
        run.process.freeze()  # Janus stops answering but keeps the socket open
        started = time.monotonic()
        await hung.close()
        assert time.monotonic() - started < 4.5  # one teardown timeout, then it gives up
        await hung.close()  # idempotent
        run.process.kill()
        await wait_for(lambda: not gateway.client.connected, 5, "the client to notice")
        await dead.close()
        await gateway.destroy_room("m")

    run_live(namespace, tmp_path, body)


@live
def test_room_events_reach_the_participant(namespace: Namespace, tmp_path: Path) -> None:
    async def body(run: Live) -> None:
        gateway = await run.gateway()
        await gateway.ensure_room("m", max_publishers=2)
        await gateway.allow("m", "t1")
        events: list[MediaEvent] = []

        async def on_event(event: MediaEvent) -> None:
            events.append(event)

        alice = await gateway.open_participant(
            "m", participant_id="p1", display="A", token="t1", on_event=on_event
        )
        await gateway.destroy_room("m")  # Janus tells everyone in it
        await wait_for(lambda: bool(events), 5, "an event about the destroyed room")
        assert events[0] == MediaEvent("room_closed", None)
        await alice.close()

    run_live(namespace, tmp_path, body)


# -- S7: nothing can record or unmute ---------------------------------------------------

# The VideoRoom requests Haven's code builds, and the one place that writes to Janus.
PLUGIN_REQUESTS = {
    "create", "edit", "allowed", "destroy", "moderate", "kick", "join", "publish",
    "unpublish", "start",
}  # fmt: skip
JANUS_WRITERS = {("haven/media/janus.py", "send"), ("haven/media/janus_process.py", "probe_janus")}


def _python_files() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted((REPO / "haven").rglob("*.py")):
        yield str(path.relative_to(REPO)), ast.parse(path.read_text(encoding="utf-8"))


def test_S7_no_code_builds_a_recording_request() -> None:
    """Structural: every Janus request body in Haven's code (a dict with a "request" key)
    names a request from the list above, none of them records or forwards, and no dict
    anywhere sets "record" to anything but False."""
    found = []
    for name, tree in _python_files():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Dict):
                continue
            for key, value in zip(node.keys, node.values, strict=True):
                if not isinstance(key, ast.Constant):
                    continue
                if key.value == "request":
                    built = value.value if isinstance(value, ast.Constant) else None
                    if built not in PLUGIN_REQUESTS:
                        found.append(f"{name}:{node.lineno}: request {ast.unparse(value)}")
                if key.value == "record" and not (
                    isinstance(value, ast.Constant) and value.value is False
                ):
                    found.append(f"{name}:{node.lineno}: record {ast.unparse(value)}")
    assert not found, "S7: requests outside the known list:\n" + "\n".join(found)
    assert not {"enable_recording", "rtp_forward"} & PLUGIN_REQUESTS


def test_S7_only_the_guarded_send_writes_to_janus() -> None:
    """Every write to a Janus socket (`ws.send(...)`) is in JanusClient.send, which runs
    the request guard first, or in the start-up probe, which only asks for `info`."""
    writers = set()
    for name, tree in _python_files():
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "send"
                    and isinstance(node.func.value, ast.Name | ast.Attribute)
                    and ast.unparse(node.func.value) in {"ws", "self._ws", "self.ws"}
                ):
                    writers.add((name, function.name))
    assert writers == JANUS_WRITERS
    guarded = next(
        node
        for node in ast.walk(ast.parse((REPO / "haven/media/janus.py").read_text()))
        if isinstance(node, ast.AsyncFunctionDef) and node.name == "send"
    )
    calls = {
        ast.unparse(node.func): node.lineno
        for node in ast.walk(guarded)
        if isinstance(node, ast.Call)
    }
    assert calls["check_request_allowed"] < calls["ws.send"]  # the guard comes first


def test_S7_the_client_refuses_to_send_recording_forwarding_or_unmute() -> None:
    for body in (
        {"request": "enable_recording", "room": 1, "record": True},
        {"request": "configure", "record": True},
        {"request": "publish", "record": True},
        {"request": "moderate", "room": 1, "id": 2, "mid": "1", "mute": False},
        {"request": "rtp_forward", "room": 1},
    ):
        with pytest.raises(ForbiddenRequest):
            check_request_allowed(body)
    check_request_allowed({"request": "create", "record": False, "lock_record": True})

    async def send_through_a_handle() -> None:
        client = JanusClient("ws://127.0.0.1:9", "unused")  # never connected
        handle = JanusHandle(JanusSession(client, 1), 2)
        # Refused before anything else, even before noticing there is no connection.
        with pytest.raises(ForbiddenRequest):
            await handle.message({"request": "enable_recording", "room": 1})

    asyncio.run(send_through_a_handle())


def test_participant_media_is_sfu_agnostic() -> None:
    # The rest of Haven sees MediaError subclasses only, never Janus exceptions.
    assert issubclass(MediaRefused, MediaError) and issubclass(MediaUnavailable, MediaError)
    assert not issubclass(JanusError, MediaError)
    assert ParticipantMedia.__module__ == "haven.media.gateway"


# -- a real WebRTC peer: Chromium publishes and subscribes through the gateway -----------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost",
]

# A canvas and an oscillator instead of a camera: no getUserMedia, so no secure context
# and no page server are needed.
PEER_JS = """
const gathered = (pc) => new Promise((resolve) => {
  if (pc.iceGatheringState === "complete") return resolve();
  pc.addEventListener("icegatheringstatechange", () => {
    if (pc.iceGatheringState === "complete") resolve();
  });
});
window.peer = {
  async offer() {
    const canvas = Object.assign(document.createElement("canvas"), {width: 320, height: 240});
    const ctx = canvas.getContext("2d");
    let n = 0;
    setInterval(() => { ctx.fillStyle = `hsl(${(n += 7) % 360},80%,50%)`;
                        ctx.fillRect(0, 0, 320, 240); }, 50);
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const sink = audio.createMediaStreamDestination();
    tone.connect(sink);
    tone.start();
    const stream = new MediaStream([sink.stream.getAudioTracks()[0],
                                    canvas.captureStream(20).getVideoTracks()[0]]);
    this.pub = new RTCPeerConnection();
    for (const track of stream.getTracks())
      this.pub.addTransceiver(track, {direction: "sendonly", streams: [stream]});
    await this.pub.setLocalDescription(await this.pub.createOffer());
    await gathered(this.pub);
    return this.pub.localDescription.sdp;
  },
  async accept(sdp) { await this.pub.setRemoteDescription({type: "answer", sdp}); },
  async answer(sdp) {
    this.sub = new RTCPeerConnection();
    await this.sub.setRemoteDescription({type: "offer", sdp});
    await this.sub.setLocalDescription(await this.sub.createAnswer());
    await gathered(this.sub);
    return this.sub.localDescription.sdp;
  },
  async framesDecoded() {
    let frames = 0;
    (await this.sub.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "video") frames = r.framesDecoded || 0;
    });
    return frames;
  },
};
"""


@live
@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_a_browser_publishes_and_another_subscribes(namespace: Namespace, tmp_path: Path) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")

    async def body(run: Live) -> None:
        gateway = await run.gateway()
        await gateway.ensure_room("m", max_publishers=2)
        await gateway.allow("m", "t1")
        events: list[MediaEvent] = []

        async def on_event(event: MediaEvent) -> None:
            events.append(event)

        alice = await gateway.open_participant(
            "m", participant_id="p1", display="A", token="t1", on_event=on_event
        )
        bob = await gateway.open_participant(
            "m", participant_id="p2", display="B", token="t1", on_event=on_event
        )
        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = await browser.new_page()
            await page.add_init_script(PEER_JS)
            await page.goto("about:blank")
            feed_id, answer = await alice.publish(await page.evaluate("peer.offer()"))
            await page.evaluate("(sdp) => peer.accept(sdp)", answer)
            await wait_for(
                lambda: MediaEvent("connected", None) in events, 10, "the publisher's webrtcup"
            )
            offer = await bob.subscribe(feed_id)
            assert "a=sendonly" in offer and "VP8/90000" in offer
            await bob.start_subscription(
                feed_id, await page.evaluate("(s) => peer.answer(s)", offer)
            )
            await bob.trickle(feed_id, None)
            deadline = time.monotonic() + 10
            while await page.evaluate("peer.framesDecoded()") < 10:
                assert time.monotonic() < deadline, "the subscriber decoded no video"
                await asyncio.sleep(0.1)
            assert MediaEvent("connected", feed_id) in events
            await bob.stop_subscription(feed_id)
            await alice.close()
            await bob.close()
            await browser.close()

    run_live(namespace, tmp_path, body)
