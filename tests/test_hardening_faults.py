"""Issue 20, "Faults, with nothing lost": a meeting lives through the failure of each
service it runs on.

Each test holds a meeting with a host and two attendees chatting, locked, and then one
thing fails: Redis restarts (several Haven processes), PostgreSQL restarts (a private
cluster of the test's own: tests/harness/postgres.py), one Haven process is killed
(SIGKILL), Janus is killed, Janus freezes (SIGSTOP). After each:

- every chat message that got `chat_sent` is in everyone's history (what each client was
  sent: live, or in the history of `joined` / `admitted` when it resumed),
- the roster and the lock are as before, and nobody admitted is admitted again (no new
  participant rows, no new `room.admitted` audit events; a resume gets `admitted`),
- media is back, where the fault is Janus's (decoded video and audio in the browsers),
- and what people were told while it was down was clear: a close code that says "try
  again" (1013) or a plain `service_unavailable`, never `server_error` or a traceback;
  in the browser, the #connection-status banner while it lasted, cleared after.

The time each took to come back is printed (pytest -s).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from asgiref.testing import ApplicationCommunicator
from django.db import OperationalError
from playwright.sync_api import Page, expect
from redis.exceptions import ConnectionError as RedisConnectionError
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from haven.room.consumers import SERVICE_UNAVAILABLE, MeetingConsumer
from haven.room.ratelimit import TokenBucket
from tests.harness import database, flows, ui
from tests.harness.browser import chromium
from tests.harness.flows import Socket
from tests.harness.postgres import private_postgres
from tests.harness.stack import (
    Balancer,
    Stack,
    _redis_command,
    _spawn,
    _wait_for_redis,
    live_stack,
    several_processes,
)
from tests.test_meeting_browser import wait_for_media

LOCKED_STATUS = "The meeting is locked. Nobody new can come in."
SERVICE_UNAVAILABLE_WORDS = "briefly unavailable"
# How long a fault may take to be over, for the test (the times are printed).
BACK_WITHIN = 30.0

Rows = Callable[..., list[dict[str, Any]]]


# -- people and what they were sent ----------------------------------------------------------


@dataclass
class Person:
    name: str
    client: httpx.Client
    view: Stack  # the Haven process this person's connections go to
    socket: Socket | None = None
    secret: str = ""
    pid: str = ""
    sockets: list[Socket] = field(default_factory=list)
    # What this person was told while the fault lasted: close codes and error codes.
    told: list[Any] = field(default_factory=list)
    # The reply to each join on a new connection (admitted / joined).
    resumed: list[dict[str, Any]] = field(default_factory=list)

    def connect(self, meeting_id: str) -> Socket:
        socket = Socket(self.view, self.client, meeting_id)
        self.sockets.append(socket)
        self.socket = socket
        return socket

    def history(self) -> set[str]:
        """Every chat text this person's clients were sent: live, or in a history."""
        texts = set()
        for socket in self.sockets:
            for message in socket.received:
                if message["type"] == "chat":
                    texts.add(message["message"]["text"])
                elif message["type"] in ("joined", "admitted"):
                    texts.update(item["text"] for item in message.get("chat") or [])
        return texts


@dataclass
class Meeting:
    id: str
    host: Person
    sam: Person
    kim: Person
    rows: Rows
    sent: list[str] = field(default_factory=list)  # every text that got chat_sent
    # Sam in a browser instead of a protocol client (the page's own reconnecting).
    page: Page | None = None

    @property
    def people(self) -> list[Person]:
        """Those on protocol clients."""
        return [self.host, self.kim] if self.page else [self.host, self.sam, self.kim]

    @property
    def everyone(self) -> list[str]:
        return sorted(p.name for p in (self.host, self.sam, self.kim))


def shared_rows(stack: Stack) -> Rows:
    return lambda sql, *params: database.query(stack, sql, *params)


def three_in_a_meeting(
    stack: Stack,
    rows: Rows,
    host_view: Stack,
    sam_view: Stack,
    kim_view: Stack,
    sam_page: Callable[[Person, str], Page] | None = None,
) -> Meeting:
    """A host and Sam and Kim, let in, chatting; then the host locks the meeting. With
    `sam_page`, Sam is in a browser: the page it opens for Sam's session and meeting."""
    host_client, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host_client)
    host = Person("Alex Morgan", host_client, host_view)
    people = [host]
    for name, view in (("Sam Carter", sam_view), ("Kim Lowe", kim_view)):
        invited = flows.invite(stack, host_client, meeting_id, name)
        people.append(Person(name, flows.enter_passcode(stack, invited), view))
    meeting = Meeting(meeting_id, host, people[1], people[2], rows=rows)
    joined = flows.join(host.connect(meeting_id))
    host.secret, host.pid = joined["resume"], joined["you"]
    for person in (meeting.sam, meeting.kim):
        if person is meeting.sam and sam_page is not None:
            meeting.page = sam_page(person, meeting_id)
            ui.join(meeting.page)
            ui.wait_for_state(meeting.page, "waiting")
        else:
            waiting = flows.join(person.connect(meeting_id))
            person.secret = waiting["resume"]
        listed = until(host.socket, "waiting_list", lambda m: m["waiting"])["waiting"]
        host.socket.send({"type": "admit", "participant": listed[0]["participant"]})  # type: ignore[union-attr]
        if person.socket is not None:
            person.pid = person.socket.expect("admitted")["you"]
    if meeting.page is not None:
        ui.wait_for_state(meeting.page, "in_meeting")
        meeting.page.evaluate(BANNER_WATCH)
    until(host.socket, "roster", lambda m: len(m["roster"]) == 3)
    host.socket.send({"type": "lock"})  # type: ignore[union-attr]
    for person in meeting.people:
        assert person.socket.expect("lock_changed")["locked"] is True  # type: ignore[union-attr]
    chat_round(meeting, "before")
    return meeting


def until(socket: Socket | None, kind: str, condition: Callable[[dict[str, Any]], Any]) -> Any:
    assert socket is not None
    while True:
        message = socket.expect(kind)
        if condition(message):
            return message


def text_is(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda message: bool(message["message"]["text"] == text)


def say(meeting: Meeting, person: Person, text: str) -> bool:
    """Send a chat message; True if it got chat_sent (then it must reach everyone)."""
    assert person.socket is not None
    reply = person.socket.request({"type": "chat", "text": text})
    if reply["type"] == "chat_sent":
        meeting.sent.append(text)
        return True
    assert reply["type"] == "error", reply
    assert reply["code"] == "service_unavailable", reply
    assert SERVICE_UNAVAILABLE_WORDS in reply["message"], reply
    person.told.append("service_unavailable")
    return False


def chat_round(meeting: Meeting, label: str) -> None:
    """Each person says something; everyone (themselves too) receives it live."""
    for person in meeting.people:
        text = f"{label}: {person.name} at {time.monotonic():.3f}"
        assert say(meeting, person, text), f"{person.name} could not chat ({label})"
        for other in meeting.people:
            until(other.socket, "chat", text_is(text))
        if meeting.page is not None:
            ui.wait_for_chat(meeting.page, text)
    if meeting.page is not None:
        text = f"{label}: Sam in the browser"
        ui.send_chat(meeting.page, text)
        meeting.sent.append(text)
        for other in meeting.people:
            until(other.socket, "chat", text_is(text))


def meeting_state(meeting: Meeting) -> dict[str, Any]:
    """The meeting as the database has it: its people, the lock, the admissions."""
    hex_id = uuid.UUID(meeting.id).hex
    found = meeting.rows("SELECT id, locked FROM meetings_meeting WHERE public_id = ?", hex_id)
    pk = found[0]["id"]
    people = meeting.rows(
        "SELECT public_id, name, state, second_device FROM room_participant"
        " WHERE meeting_id = ? ORDER BY id",
        pk,
    )
    admitted = meeting.rows(
        "SELECT COUNT(*) AS n FROM audit_auditevent WHERE action = ? AND meeting_id = ?",
        "room.admitted",
        pk,
    )
    return {
        "locked": bool(found[0]["locked"]),
        "people": [
            (row["public_id"], row["name"], row["state"], bool(row["second_device"]))
            for row in people
        ],
        "admissions": admitted[0]["n"],
    }


def resume(meeting: Meeting, person: Person, deadline: float) -> None:
    """Open a new connection and take the place back, as the page does: try again (after a
    short wait, as the page does) while the service is still down."""
    while True:
        try:
            socket = person.connect(meeting.id)
            flows.greet(socket)
            reply = socket.request(
                {"type": "join", "private_place_confirmed": True, "resume": person.secret}
            )
            if reply["type"] == "error":
                assert reply["code"] == "service_unavailable", reply
                person.told.append("service_unavailable")
            else:
                assert reply["type"] in ("joined", "admitted"), reply  # never waiting again
                assert reply["you"] == person.pid
                person.resumed.append(reply)
                return
        except ConnectionClosed as closed:
            person.told.append(closed.rcvd.code if closed.rcvd else 1006)
        except (OSError, InvalidHandshake, TimeoutError) as error:
            person.told.append(type(error).__name__)  # the process is not there (yet)
        person.socket = None
        assert time.monotonic() < deadline, f"{person.name} could not resume: {person.told}"
        time.sleep(0.2)


def closed_with(person: Person, timeout: float = 30) -> int:
    """Wait for the server to close this person's connection; the close code."""
    assert person.socket is not None
    try:
        while True:
            person.socket.receive(timeout=timeout)
    except ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else 1006
        person.told.append(code)
        person.socket = None
        return code


def assert_nothing_lost(meeting: Meeting, before: dict[str, Any]) -> None:
    for person in meeting.people:
        missing = [text for text in meeting.sent if text not in person.history()]
        assert missing == [], f"{person.name} never got {missing}"
    if meeting.page is not None:
        shown = set(ui.chat_texts(meeting.page))
        assert [text for text in meeting.sent if text not in shown] == []
        expect(meeting.page.locator("#roster-list > li")).to_have_count(3)
        assert meeting.page.evaluate("() => window.haven.state") == "in_meeting"
        for told in person.told:
            assert told not in ("server_error", 1011), (person.name, person.told)
    assert meeting_state(meeting) == before
    for person in meeting.people:
        for reply in person.resumed:
            assert sorted(p["name"] for p in reply["roster"]) == meeting.everyone
            if reply["type"] == "joined":
                assert reply["locked"] is True


def logged(log: Path, words: str, timeout: float = 20) -> None:
    """Wait until the log has a line with these words."""
    deadline = time.monotonic() + timeout
    while words not in log.read_text(encoding="utf-8", errors="replace"):
        assert time.monotonic() < deadline, f"{log.name} never said {words!r}"
        time.sleep(0.1)


def assert_no_errors_logged(folder: Path) -> None:
    """Nothing at ERROR, and no traceback, in any Haven process's log."""
    for log in folder.glob("haven*.log"):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                assert "Traceback" not in line, f"{log.name}: {line}"
                continue
            if isinstance(entry, dict):
                assert entry.get("level") not in ("ERROR", "CRITICAL"), f"{log.name}: {line}"


# -- 1. Redis restarts under several Haven processes -----------------------------------------


@contextlib.contextmanager
def redis_down(stack: Stack, redis_url: str) -> Iterator[None]:
    """Stop the deployment's Redis (as `systemctl restart` does: SIGTERM), and start it
    again on the same socket when the block ends. It keeps nothing (no persistence). The
    new one is stopped with the stack, or by stop_restarted_redis."""
    socket_path = Path(redis_url.removeprefix("unix://"))
    running = [
        p
        for p in stack.processes
        if "/usr/bin/redis-server" in str(p.args)
        and str(socket_path) in str(p.args)
        and p.poll() is None
    ]
    assert len(running) == 1, running
    running[0].terminate()
    running[0].wait(timeout=10)
    try:
        yield
    finally:
        process = _spawn(stack, "redis", _redis_command(socket_path.parent, socket_path))
        _wait_for_redis(process, socket_path, stack.folder / "redis.log")


def stop_restarted_redis(stack: Stack, redis_url: str) -> None:
    """Stop the Redis redis_down started (several_processes stops only its own)."""
    for process in stack.processes:
        if redis_url.removeprefix("unix://") in str(process.args) and process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


def test_hardening_faults_redis_restarts_and_nothing_is_lost(stack):
    with several_processes(stack, 2) as (a, b):
        redis_url = a.view.env["REDIS_URL"]
        meeting = three_in_a_meeting(stack, shared_rows(stack), a.view, b.view, a.view)
        before = meeting_state(meeting)
        stopped = time.monotonic()
        with redis_down(stack, redis_url):
            # Every connection is closed with "try again later"; a new one is too.
            for person in meeting.people:
                assert closed_with(person) == 1013, person.told
            all_closed = time.monotonic() - stopped
            socket = meeting.sam.connect(meeting.id)
            assert closed_with(meeting.sam) == 1013
            assert socket.received == []
            started = time.monotonic()
        for person in meeting.people:
            resume(meeting, person, started + BACK_WITHIN)
        chat_round(meeting, "after Redis restarted")
        print(
            f"\nRedis stopped -> every socket closed 1013 in {all_closed:.1f} s;"
            f" Redis started -> chat back for all in {time.monotonic() - started:.1f} s"
        )
        assert_nothing_lost(meeting, before)
        # The places the closed connections kept are not let go later: they were resumed.
        gone = float(stack.env["HAVEN_SERVER_GONE_SECONDS"])
        later = meeting.host.socket.nothing_arrives(gone + 2)  # type: ignore[union-attr]
        assert [m for m in later if m["type"] == "roster"] == []
        assert meeting_state(meeting) == before
    stop_restarted_redis(stack, redis_url)
    assert_no_errors_logged(stack.folder)


# -- 2. PostgreSQL restarts -------------------------------------------------------------------


def test_hardening_faults_postgresql_restarts_and_nothing_is_lost(tmp_path):
    with private_postgres() as cluster:
        db = cluster.new_database("haven_faults")
        with live_stack(tmp_path, database=db) as pg:
            rows: Rows = lambda sql, *params: cluster.query(db, sql, *params)  # noqa: E731
            meeting = three_in_a_meeting(pg, rows, pg, pg, pg)
            before = meeting_state(meeting)
            stopped = time.monotonic()
            cluster.stop()
            try:
                # A message now is answered plainly, and the connection stays.
                for person in meeting.people:
                    assert say(meeting, person, f"while down: {person.name}") is False
                    assert person.socket is not None
                # The work in the background meets it too, and says so at WARNING.
                logged(pg.log, "Heartbeat of this Haven process failed")
                logged(pg.log, "The retention job could not reach the database")
            finally:
                started = time.monotonic()
                cluster.start()
            deadline = started + BACK_WITHIN
            for person in meeting.people:
                # The same connections (the database is not in their way any more).
                while not say(meeting, person, f"after: {person.name} {time.monotonic()}"):
                    assert time.monotonic() < deadline, person.told
                    time.sleep(0.2)
            chat_round(meeting, "after PostgreSQL restarted")
            now = time.monotonic()
            print(
                f"\nPostgreSQL stopped for {started - stopped:.1f} s; started -> chat back for"
                f" all in {now - started:.1f} s"
            )
            assert_nothing_lost(meeting, before)
            # And a new connection takes its place back as before.
            resume(meeting, meeting.sam, time.monotonic() + BACK_WITHIN)
            assert_nothing_lost(meeting, before)
        assert_no_errors_logged(tmp_path)


# -- 3. One Haven process is killed -------------------------------------------------------


BANNER_WATCH = """() => {
  const banner = document.getElementById("connection-status");
  window.bannerSeen = [];
  new MutationObserver(() => window.bannerSeen.push(banner.textContent)).observe(
    banner, { childList: true, characterData: true, subtree: true });
}"""


def banner_seen(page: Page) -> list[str]:
    seen: list[str] = page.evaluate("() => window.bannerSeen")
    return seen


@pytest.mark.browser
def test_hardening_faults_a_haven_process_killed_and_people_resume_on_another(stack):
    """The host on A; Sam (in a browser, through a load balancer) and Kim on B. B is
    killed (SIGKILL): Kim's client and Sam's page resume on A, Sam's banner says so."""
    with several_processes(stack, 2) as (a, b):
        balancer = Balancer(stack, b)
        with contextlib.closing(balancer), chromium(stack) as browser:

            def sam_page(person: Person, meeting_id: str) -> Page:
                page = ui.page_with_session(browser, balancer.view, person.client)
                page.goto(f"{balancer.view.base_url}/room/{meeting_id}/")
                return page

            rows = shared_rows(stack)
            meeting = three_in_a_meeting(stack, rows, a.view, b.view, b.view, sam_page)
            page = meeting.page
            assert page is not None
            before = meeting_state(meeting)

            b.kill()
            killed = time.monotonic()
            balancer.send_to(a)
            assert closed_with(meeting.kim) == 1006  # nobody was left to say anything
            meeting.kim.view = a.view
            resume(meeting, meeting.kim, killed + BACK_WITHIN)
            kim_back = time.monotonic() - killed
            page.wait_for_function("() => window.haven.reconnects === 1", timeout=20_000)
            page.wait_for_function(
                "() => window.haven.received.filter((t) => t === 'admitted').length === 2",
                timeout=20_000,
            )
            page_back = time.monotonic() - killed
            chat_round(meeting, "after B was killed")
            print(
                f"\nHaven process killed -> Kim resumed on A in {kim_back:.2f} s,"
                f" Sam's page in {page_back:.2f} s"
            )
            assert_nothing_lost(meeting, before)
            # The banner said the connection was lost, then that it was back, then went.
            expect(page.locator("#connection-status")).to_have_text("", timeout=10_000)
            seen = [text for text in banner_seen(page) if text]
            # (Between them, "Video is restarting…": its media goes out again.)
            assert seen[0] == "Connection lost. Reconnecting…" and seen[-1] == "Reconnected", seen
    assert_no_errors_logged(stack.folder)


# -- 4 and 5. Janus killed, Janus frozen: media checked in browsers ---------------------------


@dataclass
class MediaMeeting:
    meeting: ui.Meeting
    host: Page
    sam: Page
    kim: Person
    kim_socket: Socket
    sent: list[str] = field(default_factory=list)

    @property
    def pages(self) -> list[Page]:
        return [self.host, self.sam]


def media_meeting(stack: Stack, browser: Any) -> MediaMeeting:
    """Host and Sam in browsers, with cameras, seeing each other; Kim's protocol client;
    all let in and chatting; then the host locks the meeting."""
    meeting = ui.new_meeting(stack)
    host = ui.host_joins(browser, stack, meeting, camera=True)
    sam = ui.attendee_waits(browser, stack, meeting, camera=True)
    ui.let_in(host, sam)
    invited = flows.invite(stack, meeting.host, meeting.id, "Kim Lowe")
    kim = Person("Kim Lowe", flows.enter_passcode(stack, invited), stack)
    kim_socket = kim.connect(meeting.id)
    kim.secret = flows.join(kim_socket)["resume"]
    host.get_by_role("button", name="Let in Kim Lowe").click()
    kim.pid = kim_socket.expect("admitted")["you"]
    expect(host.locator("#roster-list > li")).to_have_count(3)
    host.locator("#lock-button").click()
    expect(host.locator("#lock-status")).to_have_text(LOCKED_STATUS)
    assert wait_for_media(sam.page)["video"]["frames"] > 0
    assert wait_for_media(host)["video"]["frames"] > 0
    for page in (host, sam.page):
        page.evaluate(BANNER_WATCH)
    found = MediaMeeting(meeting, host, sam.page, kim, kim_socket)
    media_chat(found, "before")
    return found


def media_chat(meeting: MediaMeeting, label: str) -> None:
    for index, page in enumerate(meeting.pages):
        text = f"{label}: page {index}"
        ui.send_chat(page, text)
        meeting.sent.append(text)
    text = f"{label}: Kim"
    assert meeting.kim_socket.request({"type": "chat", "text": text})["type"] == "chat_sent"
    meeting.sent.append(text)
    for page in meeting.pages:
        for each in meeting.sent:
            ui.wait_for_chat(page, each)
    for each in meeting.sent:
        if each not in meeting.kim.history():
            until(meeting.kim_socket, "chat", text_is(each))


def media_state(stack: Stack, meeting: MediaMeeting) -> dict[str, Any]:
    state = meeting_state(
        Meeting(meeting.meeting.id, meeting.kim, meeting.kim, meeting.kim, shared_rows(stack))
    )
    return state


def media_back(stack: Stack, meeting: MediaMeeting, fault: str, since: float) -> None:
    """Both pages decode the other's video and audio again; the banner said so, and went."""
    for page in meeting.pages:
        page.wait_for_function(
            "() => window.haven.received.includes('media_restarted')", timeout=30_000
        )
    for page in meeting.pages:
        media = wait_for_media(page, timeout_s=BACK_WITHIN)
        assert media["video"]["frames"] > 0 and media["audio"]["samples"] > 0, media
    print(f"\n{fault} -> media back both ways: {time.monotonic() - since:.1f} s")
    for page in meeting.pages:
        assert page.evaluate("() => window.haven.state") == "in_meeting"
        expect(page.locator("#connection-status")).to_have_text("", timeout=10_000)
        seen = [text for text in banner_seen(page) if text]
        assert seen[:2] == ["Video is restarting…", "Video is back"], seen


def assert_media_meeting_intact(stack: Stack, meeting: MediaMeeting, before: dict[str, Any]):
    media_chat(meeting, "after")
    for page in meeting.pages:
        shown = ui.chat_texts(page)
        assert [text for text in meeting.sent if text not in shown] == []
        expect(page.locator("#roster-list > li")).to_have_count(3)
    assert [text for text in meeting.sent if text not in meeting.kim.history()] == []
    expect(meeting.host.locator("#lock-status")).to_have_text(LOCKED_STATUS)
    assert media_state(stack, meeting) == before
    assert [m for m in meeting.kim_socket.received if m["type"] == "error"] == []


@pytest.mark.browser
def test_hardening_faults_janus_killed_and_media_comes_back(stack):
    with chromium(stack) as browser:
        meeting = media_meeting(stack, browser)
        before = media_state(stack, meeting)
        killed = time.monotonic()
        stack.restart_janus()  # killed (SIGKILL), and started again as systemd would
        print(f"\nJanus killed and started again in {time.monotonic() - killed:.1f} s")
        # Chat goes on while the video is down.
        text = "while the video restarts"
        ui.send_chat(meeting.host, text)
        meeting.sent.append(text)
        media_back(stack, meeting, "Janus killed", killed)
        assert_media_meeting_intact(stack, meeting, before)
    assert_no_errors_logged(stack.folder)


@pytest.fixture(scope="module")
def two_janus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A live Haven with two Janus servers, at the deployment's default failover time."""
    with live_stack(tmp_path_factory.mktemp("faults-two-janus"), janus_servers=2) as stack:
        yield stack


@pytest.mark.browser
def test_hardening_faults_janus_frozen_and_media_comes_back_on_the_other(two_janus):
    """SIGSTOP: the Janus keeps its socket open and answers nothing (issue 20 item 9).
    Haven must notice, and move the meeting to the other Janus."""
    stack = two_janus
    with chromium(stack) as browser:
        meeting = media_meeting(stack, browser)
        before = media_state(stack, meeting)
        hex_id = uuid.UUID(meeting.meeting.id).hex
        placed = database.query(
            stack, "SELECT media_server FROM meetings_meeting WHERE public_id = ?", hex_id
        )[0]["media_server"]
        frozen = stack.janus_processes[stack.janus_urls.index(placed)]
        assert frozen.pid is not None
        os.kill(frozen.pid, signal.SIGSTOP)
        froze = time.monotonic()
        try:
            text = "while the video is frozen"
            ui.send_chat(meeting.host, text)
            meeting.sent.append(text)
            media_back(stack, meeting, "Janus frozen", froze)
            assert_media_meeting_intact(stack, meeting, before)
        finally:
            os.kill(frozen.pid, signal.SIGCONT)
    assert_no_errors_logged(stack.folder)


# -- in-process: the consumer's own answers to a failing service ------------------------------


class _FailsToConnect(MeetingConsumer):
    async def connect(self) -> None:
        raise RedisConnectionError("Error 111 connecting to unix socket: redis.sock.")


class _FailsOnAFrame(MeetingConsumer):
    async def connect(self) -> None:
        self.identity = SimpleNamespace(  # type: ignore[assignment]
            user=None, meeting=SimpleNamespace(pk=1), invitation=SimpleNamespace(pk=1)
        )
        self.limiter = TokenBucket(rate=20, burst=60)
        await self.accept()

    async def dispatch_message(self, message: Any) -> None:
        raise OperationalError("the database system is shutting down")

    async def disconnect(self, code: int) -> None:
        pass


def test_hardening_faults_a_failing_service_closes_1013_or_answers_service_unavailable(caplog):
    def socket(consumer: type[MeetingConsumer]) -> ApplicationCommunicator:
        scope = {"type": "websocket", "path": "/ws/meetings/x/", "headers": [], "subprotocols": []}
        return ApplicationCommunicator(consumer.as_asgi(), scope)

    async def run() -> tuple[Any, Any]:
        first = socket(_FailsToConnect)
        await first.send_input({"type": "websocket.connect"})
        connected = await first.receive_output()
        closed = await first.receive_output()
        second = socket(_FailsOnAFrame)
        await second.send_input({"type": "websocket.connect"})
        assert (await second.receive_output())["type"] == "websocket.accept"
        hello = json.dumps({"type": "hello", "protocol": 1, "id": 3})
        await second.send_input({"type": "websocket.receive", "text": hello})
        answer = json.loads((await second.receive_output())["text"])
        await second.send_input({"type": "websocket.disconnect", "code": 1001})
        await second.wait()
        return (connected, closed), answer

    caplog.set_level(logging.INFO)
    (connected, closed), answer = asyncio.run(run())
    # Accepted, then closed with "try again later": the page reconnects, not "refused".
    assert connected["type"] == "websocket.accept"
    assert closed == {"type": "websocket.close", "code": 1013}
    assert answer == {
        "type": "error",
        "re": 3,
        "code": "service_unavailable",
        "message": SERVICE_UNAVAILABLE,
    }
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert [r.levelname for r in caplog.records if r.name == "haven.room.consumers"] == [
        "WARNING",
        "WARNING",
    ]
