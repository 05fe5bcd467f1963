"""Issue 7 item 3: several Janus servers.

Each meeting is placed on the least loaded server and remembers it (in the database, so
every Haven process agrees); a server that dies and stays down loses its meetings to
another, and browsers get their media back there by themselves, without being let in
again. The live tests run two real Janus processes in the stack's namespace.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Page
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from haven.env import ConfigError, env_ws_urls
from haven.media.gateway import room_id_for
from haven.media.pool import MediaServers
from haven.meetings.models import Meeting
from haven.room import placement
from haven.room.models import Participant
from tests.harness import database, flows
from tests.harness.browser import chromium
from tests.harness.flows import Socket
from tests.harness.netns import pick_port, run_in_namespace
from tests.harness.stack import Stack, live_stack, several_processes
from tests.harness.unit import scheduled_meeting
from tests.test_media_janus import synthetic_offer
from tests.test_meeting_browser import two_people_seeing_each_other, wait_for_media

T = TypeVar("T")
A, B, C = "ws://127.0.0.1:1/a", "ws://127.0.0.1:2/b", "ws://127.0.0.1:3/c"
# Long enough that a Janus killed and started again at once comes back before it (as
# in production's default of 10 s), short enough to keep the tests quick.
FAILOVER_SECONDS = 8


# -- placement, on the unit tests' database ------------------------------------------------


def test_issue7_the_least_loaded_server_wins_ties_go_to_the_first_listed() -> None:
    loads = {A: (3, 1), B: (2, 2), C: (2, 1)}
    assert placement.least_loaded([A, B, C], loads) == C  # fewest people, then meetings
    assert placement.least_loaded([A, B], loads) == B
    assert placement.least_loaded([B, A], {A: (0, 0), B: (0, 0)}) == B
    assert placement.least_loaded([C, A], {}) == C
    with pytest.raises(placement.NoMediaServer):
        placement.least_loaded([], loads)


def _live_meeting(template: Meeting, people: int) -> Meeting:
    """Another meeting in progress like ``template``, with this many people let in."""
    meeting = Meeting.objects.create(
        organisation=template.organisation,
        host=template.host,
        policy=template.policy,
        meeting_type=template.meeting_type,
        title="Review",
        starts_at=template.starts_at,
        state=Meeting.State.LIVE,
    )
    for _ in range(people):
        Participant.objects.create(
            public_id=f"p_{secrets.token_hex(6)}",
            meeting=meeting,
            user=template.host,
            name="Alex Morgan",
            state=Participant.State.ADMITTED,
            channel_name=f"c_{secrets.token_hex(6)}",
        )
    return meeting


def _on(meeting: Meeting) -> str:
    meeting.refresh_from_db()
    return meeting.media_server


@pytest.mark.django_db
def test_issue7_a_meeting_is_placed_on_the_least_loaded_reachable_server_and_stays() -> None:
    template = scheduled_meeting()
    busy = _live_meeting(template, people=3)
    assert placement.place(busy.pk, [A, B], [A, B]) == A  # nothing anywhere: the first
    quiet = _live_meeting(template, people=1)
    assert placement.place(quiet.pk, [A, B], [A, B]) == B
    assert (_on(busy), _on(quiet)) == (A, B)
    assert placement.server_loads([A, B, C]) == {A: (3, 1), B: (1, 1), C: (0, 0)}
    # Placed once, always there: whatever the loads, and whatever another process that
    # reaches other servers would choose (the same conditional UPDATE lets one win).
    crowded = _live_meeting(template, people=5)
    Meeting.objects.filter(pk=crowded.pk).update(media_server=B)
    assert placement.place(quiet.pk, [A, B], [A, B]) == B
    assert placement.place(quiet.pk, [A, B], [A]) == B
    third = _live_meeting(template, people=0)
    assert placement.place(third.pk, [A, B], [B]) == B  # only B answers this process
    assert placement.place(third.pk, [A, B], [A]) == B  # a racing process finds it placed
    # A server taken out of the configuration: its meetings are placed again.
    assert placement.place(busy.pk, [B, C], [B, C]) == C
    with pytest.raises(placement.NoMediaServer):
        placement.place(_live_meeting(template, people=0).pk, [A, B], [])


@pytest.mark.django_db
def test_issue7_a_lost_servers_meetings_spread_over_the_others_once() -> None:
    template = scheduled_meeting()
    on_a = [_live_meeting(template, people=2) for _ in range(3)]
    Meeting.objects.filter(pk__in=[m.pk for m in on_a]).update(media_server=A)
    ended = _live_meeting(template, people=0)
    Meeting.objects.filter(pk=ended.pk).update(media_server=A, state=Meeting.State.ENDED)
    on_b = _live_meeting(template, people=1)
    Meeting.objects.filter(pk=on_b.pk).update(media_server=B)

    assert placement.move_meetings_off(A, [A]) == []  # nowhere to go: they stay
    moved = placement.move_meetings_off(A, [A, B, C])
    assert [m.pk for m in moved] == [m.pk for m in on_a]
    # C was empty, B had one person: C, then B (1 < 2), then C again (2 people, 1 meeting
    # against B's 3 people).
    assert [_on(m) for m in on_a] == [C, B, C]
    assert _on(ended) == A  # ended meetings are left alone
    # Another process doing the same finds nothing left to move.
    assert placement.move_meetings_off(A, [B, C]) == []


def test_issue7_janus_servers_setting_takes_ws_addresses_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HAVEN_JANUS_SERVERS", f"{A}, {B}")
    assert env_ws_urls("HAVEN_JANUS_SERVERS", [C]) == [A, B]
    monkeypatch.delenv("HAVEN_JANUS_SERVERS")
    assert env_ws_urls("HAVEN_JANUS_SERVERS", [C]) == [C]
    for bad in ("http://127.0.0.1:8188", "ws://user:pw@127.0.0.1:8188", f"{A},{A}", "ws://"):
        monkeypatch.setenv("HAVEN_JANUS_SERVERS", bad)
        with pytest.raises(ConfigError, match="HAVEN_JANUS_SERVERS"):
            env_ws_urls("HAVEN_JANUS_SERVERS", [C])


def test_issue7_servers_that_never_answer_are_retried_and_reported_lost_after_the_grace() -> None:
    """Two servers on loopback ports where nothing listens: starting does not fail, and
    each is reported lost once it has been down for the grace, then again every grace."""
    urls = [f"ws://127.0.0.1:{pick_port()}", f"ws://127.0.0.1:{pick_port()}"]
    lost: list[tuple[str, float]] = []

    async def main() -> None:
        started = asyncio.get_running_loop().time()

        async def on_lost(name: str) -> None:
            lost.append((name, asyncio.get_running_loop().time() - started))

        servers = MediaServers(urls, "secret", "key", failover_after=1.0, on_lost=on_lost)
        await servers.start()
        assert servers.reachable() == [] and servers.names == urls
        async with asyncio.timeout(10):
            while len(lost) < 4:
                await asyncio.sleep(0.05)
        await servers.close()

    asyncio.run(main())
    for url in urls:
        times = [after for name, after in lost if name == url]
        assert len(times) == 2 and times[0] >= 1.0 and times[1] - times[0] >= 1.0, lost


# -- against a live stack with two Janus servers -------------------------------------------


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A live Haven with two Janus servers in its namespace."""
    folder: Path = tmp_path_factory.mktemp("two-janus")
    with live_stack(folder, janus_servers=2, failover_seconds=FAILOVER_SECONDS) as stack:
        yield stack


def eventually(check: Callable[[], T], timeout: float, what: str) -> T:
    """Poll ``check`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)
    return result


def in_janus_room(stack: Stack, index: int, meeting_id: str) -> list[str] | None:
    """Who is in the meeting's VideoRoom on one Janus (display names), asked of that Janus
    itself; None if the room does not exist there."""
    settings = stack.janus_processes[index].settings
    room = room_id_for(f"meeting-{uuid.UUID(meeting_id)}")

    def ask() -> list[str] | None:
        with connect(
            settings.api_url,
            subprotocols=[Subprotocol("janus-protocol")],
            open_timeout=5,
            proxy=None,
        ) as ws:

            def send(message: dict[str, Any]) -> dict[str, Any]:
                transaction = secrets.token_hex(6)
                ws.send(
                    json.dumps(
                        {**message, "transaction": transaction, "apisecret": settings.api_secret}
                    )
                )
                while True:
                    reply: dict[str, Any] = json.loads(ws.recv(timeout=5))
                    if reply.get("transaction") == transaction and reply["janus"] != "ack":
                        return reply

            session = send({"janus": "create"})["data"]["id"]
            plugin = "janus.plugin.videoroom"
            handle = send({"janus": "attach", "session_id": session, "plugin": plugin})
            ids = {"session_id": session, "handle_id": handle["data"]["id"]}

            def request(body: dict[str, Any]) -> dict[str, Any]:
                reply = send({"janus": "message", **ids, "body": body})
                data: dict[str, Any] = reply["plugindata"]["data"]
                return data

            people = None
            if request({"request": "exists", "room": room})["exists"]:
                listed = request({"request": "listparticipants", "room": room})
                people = sorted(p.get("display", "") for p in listed["participants"])
            send({"janus": "destroy", "session_id": session})
            return people

    return run_in_namespace(stack.namespace, ask)


def placed_on(stack: Stack, meeting_id: str) -> str:
    rows = database.query(
        stack,
        "SELECT media_server FROM meetings_meeting WHERE public_id = ?",
        uuid.UUID(meeting_id).hex,
    )
    return str(rows[0]["media_server"])


def meeting_pk(stack: Stack, meeting_id: str) -> int:
    rows = database.query(
        stack, "SELECT id FROM meetings_meeting WHERE public_id = ?", uuid.UUID(meeting_id).hex
    )
    return int(rows[0]["id"])


@dataclass
class SocketMeeting:
    meeting_id: str
    host: Socket
    attendee: Socket
    attendee_name: str


def meeting_with_someone_let_in(stack: Stack, host_client: httpx.Client) -> SocketMeeting:
    """A meeting in progress, its host and one attendee let in (whose media session opens
    on the meeting's server as they are let in)."""
    meeting_id = flows.create_meeting(host_client)
    name = f"Sam Carter {secrets.token_hex(2)}"
    invited = flows.invite(stack, host_client, meeting_id, name=name)
    host = Socket(stack, host_client, meeting_id)
    flows.join(host)
    attendee = Socket(stack, flows.enter_passcode(stack, invited), meeting_id)
    flows.join(attendee)
    waiting = host.expect("waiting_list")["waiting"]
    host.send({"type": "admit", "participant": waiting[0]["participant"]})
    attendee.expect("admitted")
    return SocketMeeting(meeting_id, host, attendee, name)


def end(meeting: SocketMeeting) -> None:
    meeting.host.send({"type": "end_meeting"})
    meeting.host.expect("meeting_ended")


def host_client(stack: Stack) -> httpx.Client:
    email = flows.unique_email("host")
    password = stack.create_staff(email)
    client = stack.http()
    flows.sign_in_with(client, email, password)
    return client


@pytest.fixture
def servers_default_grace(tmp_path: Path) -> Iterator[Stack]:
    """Two Janus servers and the default HAVEN_JANUS_FAILOVER_SECONDS (a stack of its own,
    made and gone before the module's `servers`: this test comes first)."""
    with live_stack(tmp_path, janus_servers=2) as stack:
        yield stack


@pytest.mark.browser
def test_hardening_a_frozen_janus_is_failed_over_and_video_comes_back(servers_default_grace):
    """The meeting's Janus hangs with its socket open (SIGSTOP): Haven's probe notices,
    the meeting moves to the other Janus, and both pages see and hear each other again
    within the 3 s target, without being let in again (issue 20 item 9)."""
    stack = servers_default_grace
    with chromium(stack) as browser:
        host, attendee, meeting_id = two_people_seeing_each_other(browser, stack)
        was_on = stack.janus_urls.index(placed_on(stack, meeting_id))
        people = _participants(stack, meeting_id)
        admissions = _admissions(stack, meeting_id)

        stack.janus_processes[was_on].freeze()
        frozen = time.monotonic()
        try:
            for page in (host, attendee):
                page.wait_for_function(
                    "() => window.haven.received.includes('media_restarted')", timeout=10_000
                )
            told = time.monotonic() - frozen
            attendee_media = wait_for_media(attendee, timeout_s=30)
            host_media = wait_for_media(host, timeout_s=30)
            back = time.monotonic() - frozen
        finally:
            stack.janus_processes[was_on].thaw()
        print(f"\nJanus frozen -> told to reconnect: {told:.1f} s; media back: {back:.1f} s")
        assert attendee_media["video"]["frames"] > 0 and attendee_media["audio"]["samples"] > 0
        assert host_media["video"]["frames"] > 0 and host_media["audio"]["samples"] > 0
        assert told < 3.0
        assert placed_on(stack, meeting_id) == stack.janus_urls[1 - was_on]
        assert in_janus_room(stack, 1 - was_on, meeting_id) == ["Alex Morgan", "Sam Carter"]
        assert _participants(stack, meeting_id) == people
        assert _admissions(stack, meeting_id) == admissions
        assert _restarts_seen(host) == _restarts_seen(attendee) == 1
        host.locator("#end-meeting").click()
        host.locator("#end-confirm-yes").click()
        host.wait_for_function("() => window.haven.state === 'ended'")


def test_issue7_meetings_go_to_the_least_loaded_janus_and_each_remembers_its_own(servers):
    stack = servers
    client = host_client(stack)
    first = meeting_with_someone_let_in(stack, client)
    # The attendee's media session opens on the first server (both empty: the first).
    where_first = eventually(lambda: placed_on(stack, first.meeting_id), 15, "a placement")
    assert where_first == stack.janus_urls[0]
    assert eventually(lambda: in_janus_room(stack, 0, first.meeting_id), 15, "the room") == [
        first.attendee_name
    ]
    # The first server now has two people in a meeting, the second none.
    second = meeting_with_someone_let_in(stack, client)
    where_second = eventually(lambda: placed_on(stack, second.meeting_id), 15, "a placement")
    assert where_second == stack.janus_urls[1]
    assert eventually(lambda: in_janus_room(stack, 1, second.meeting_id), 15, "the room") == [
        second.attendee_name
    ]
    # A third meeting: equal loads, so the first listed.
    third = meeting_with_someone_let_in(stack, client)
    assert (
        eventually(lambda: placed_on(stack, third.meeting_id), 15, "a placement")
        == (stack.janus_urls[0])
    )
    # The second server is now the least loaded, but the first meeting stays where it is:
    # the host's media, opened now, goes to the first server too.
    reply = first.host.request(
        {"type": "publish", "jsep": {"type": "offer", "sdp": synthetic_offer()}}
    )
    assert reply["type"] == "published", reply
    assert placed_on(stack, first.meeting_id) == stack.janus_urls[0]
    assert len(in_janus_room(stack, 0, first.meeting_id) or []) == 2
    # Nothing of either meeting on the other server.
    assert in_janus_room(stack, 1, first.meeting_id) is None
    assert in_janus_room(stack, 0, second.meeting_id) is None
    for meeting in (first, second, third):
        end(meeting)


def test_issue7_a_janus_that_restarts_within_the_grace_keeps_its_meetings(servers):
    """As with one Janus: its meetings stay, and only people whose media is on it are asked
    to reconnect; a meeting on the other server notices nothing."""
    stack = servers
    client = host_client(stack)
    first = meeting_with_someone_let_in(stack, client)
    second = meeting_with_someone_let_in(stack, client)
    eventually(lambda: all(placed_on(stack, m.meeting_id) for m in (first, second)), 15, "both")
    on = {stack.janus_urls.index(placed_on(stack, m.meeting_id)): m for m in (first, second)}
    assert sorted(on) == [0, 1]  # one on each server
    eventually(lambda: in_janus_room(stack, 0, on[0].meeting_id), 15, "the first room")
    eventually(lambda: in_janus_room(stack, 1, on[1].meeting_id), 15, "the second room")

    stack.kill_janus(0)
    stack.start_janus(0)
    on[0].attendee.expect("media_restarted", timeout=FAILOVER_SECONDS)
    assert [m["type"] for m in on[1].attendee.nothing_arrives(FAILOVER_SECONDS + 2)] == []
    assert placed_on(stack, on[0].meeting_id) == stack.janus_urls[0]
    assert placed_on(stack, on[1].meeting_id) == stack.janus_urls[1]
    assert not [m for m in on[0].attendee.nothing_arrives(1) if m["type"] == "media_restarted"]
    for meeting in (first, second):
        end(meeting)


def metrics(stack: Stack) -> dict[tuple[str, str], float]:
    """Every sample of /metrics, by name and (for haven_janus_server_up) server."""
    token = stack.env["HAVEN_METRICS_TOKEN"]
    with stack.http() as client:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    families = text_string_to_metric_families(response.text)
    return {
        (sample.name, sample.labels.get("server", "")): sample.value
        for family in families
        for sample in family.samples
    }


def readyz(stack: Stack) -> tuple[int, dict[str, Any]]:
    with stack.http() as client:
        response = client.get("/readyz")
    return response.status_code, response.json()


def test_issue7_readyz_and_metrics_with_one_of_two_janus_servers_down(servers):
    stack = servers
    first, second = stack.janus_urls
    assert readyz(stack) == (
        200,
        {"status": "ready", "checks": {"database": "ok", "channel_layer": "ok", "media": "ok"}},
    )
    stack.kill_janus(0)
    try:
        # One down: still ready (meetings go to the other), and the check says so.
        assert readyz(stack) == (
            200,
            {
                "status": "ready",
                "checks": {"database": "ok", "channel_layer": "ok", "media": "degraded"},
            },
        )
        seen = metrics(stack)
        assert seen[("haven_janus_servers", "")] == 2
        assert seen[("haven_janus_servers_up", "")] == 1
        assert seen[("haven_janus_server_up", first)] == 0
        assert seen[("haven_janus_server_up", second)] == 1
        # A meeting placed now goes to the server that answers (with equal loads, the
        # first listed would have had it).
        meeting = meeting_with_someone_let_in(stack, host_client(stack))
        assert eventually(lambda: placed_on(stack, meeting.meeting_id), 15, "a placement") == (
            second
        )
        end(meeting)
        # Both down: not ready.
        stack.kill_janus(1)
        status, body = readyz(stack)
        assert status == 503 and body["checks"]["media"] == "unavailable", body
        assert metrics(stack)[("haven_janus_servers_up", "")] == 0
    finally:
        stack.start_janus(0)
        stack.start_janus(1)
    # The clients reconnect on their own.
    eventually(lambda: readyz(stack)[1]["checks"]["media"] == "ok", 30, "both servers back")
    assert metrics(stack)[("haven_janus_servers_up", "")] == 2


def _moves_logged(stack: Stack, since: dict[Path, int]) -> int:
    """How many meetings the Haven processes' logs say they moved since these offsets."""
    total = 0
    for log, offset in since.items():
        for line in log.read_text(encoding="utf-8")[offset:].splitlines():
            message = json.loads(line)["message"]
            if "meetings moved off it: " in message:
                total += int(message.rsplit(" ", 1)[1])
    return total


def test_issue7_haven_processes_agree_on_a_meetings_server_and_one_of_them_moves_it(servers):
    """Host and attendee on two Haven processes (channel layer in Redis): their media goes
    to one Janus; when it dies, one process moves the meeting, and both are told."""
    stack = servers
    with several_processes(stack, 2) as (one, two):
        client = host_client(one.view)
        meeting_id = flows.create_meeting(client)
        invited = flows.invite(stack, client, meeting_id)
        host = Socket(one.view, client, meeting_id)
        flows.join(host)
        offer = {"type": "offer", "sdp": synthetic_offer()}
        assert host.request({"type": "publish", "jsep": offer})["type"] == "published"
        attendee = Socket(two.view, flows.enter_passcode(two.view, invited), meeting_id)
        flows.join(attendee)
        waiting = host.expect("waiting_list")["waiting"]
        host.send({"type": "admit", "participant": waiting[0]["participant"]})
        attendee.expect("admitted")
        was_on = stack.janus_urls.index(placed_on(stack, meeting_id))
        both = ["Alex Morgan", "Sam Carter"]  # the attendee's session from the other process
        eventually(lambda: in_janus_room(stack, was_on, meeting_id) == both, 15, "both")

        logs = {log: log.stat().st_size for log in stack.folder.glob("haven*.log")}
        stack.kill_janus(was_on)
        try:
            for socket in (host, attendee):
                socket.expect("media_restarted", timeout=FAILOVER_SECONDS + 15)
            assert placed_on(stack, meeting_id) == stack.janus_urls[1 - was_on]
            for socket in (host, attendee):
                later = [m["type"] for m in socket.nothing_arrives(FAILOVER_SECONDS + 1)]
                assert "media_restarted" not in later, later
            assert _moves_logged(stack, logs) == 1  # one process moved it, once
        finally:
            stack.start_janus(was_on)
        end(SocketMeeting(meeting_id, host, attendee, "Sam Carter"))


def _participants(stack: Stack, meeting_id: str) -> list[tuple[int, str]]:
    rows = database.query(
        stack,
        "SELECT id, state FROM room_participant WHERE meeting_id = ? ORDER BY id",
        meeting_pk(stack, meeting_id),
    )
    return [(int(row["id"]), str(row["state"])) for row in rows]


def _admissions(stack: Stack, meeting_id: str) -> int:
    rows = database.query(
        stack,
        "SELECT COUNT(*) AS n FROM audit_auditevent WHERE action = ? AND meeting_id = ?",
        "room.admitted",
        meeting_pk(stack, meeting_id),
    )
    return int(rows[0]["n"])


def _restarts_seen(page: Page) -> int:
    count: int = page.evaluate(
        "() => window.haven.received.filter((type) => type === 'media_restarted').length"
    )
    return count


@pytest.mark.browser
def test_issue7_a_meeting_moves_to_the_other_janus_when_its_own_dies_and_video_comes_back(
    servers,
):
    """Host and attendee see each other; the meeting's Janus is killed and stays down.
    After the grace the meeting moves to the other Janus, both pages publish and subscribe
    there by themselves, and nobody is let in again."""
    stack = servers
    with chromium(stack) as browser:
        host, attendee, meeting_id = two_people_seeing_each_other(browser, stack)

        was_on = stack.janus_urls.index(placed_on(stack, meeting_id))
        other = 1 - was_on
        people = _participants(stack, meeting_id)
        admissions = _admissions(stack, meeting_id)
        assert [state for _, state in people] == ["admitted", "admitted"], people
        assert in_janus_room(stack, other, meeting_id) is None

        stack.kill_janus(was_on)
        killed = time.monotonic()
        try:
            for page in (host, attendee):
                page.wait_for_function(
                    "() => window.haven.received.includes('media_restarted')",
                    timeout=(FAILOVER_SECONDS + 20) * 1000,
                )
            moved = time.monotonic() - killed
            attendee_media = wait_for_media(attendee, timeout_s=30)
            host_media = wait_for_media(host, timeout_s=30)
            back = time.monotonic() - killed
            print(f"\nJanus killed -> meeting moved: {moved:.1f} s; media back: {back:.1f} s")
            assert attendee_media["video"]["frames"] > 0, attendee_media
            assert attendee_media["audio"]["samples"] > 0, attendee_media
            assert host_media["video"]["frames"] > 0 and host_media["audio"]["samples"] > 0
            assert moved >= FAILOVER_SECONDS - 1  # not before the grace
            # On the other server now, in the database and on that Janus itself.
            assert placed_on(stack, meeting_id) == stack.janus_urls[other]
            assert in_janus_room(stack, other, meeting_id) == ["Alex Morgan", "Sam Carter"]
            # Nobody was let in again: the same people, still in, and no new admission.
            assert _participants(stack, meeting_id) == people
            assert _admissions(stack, meeting_id) == admissions
            assert attendee.evaluate("() => window.haven.state") == "in_meeting"
            assert host.evaluate("() => window.haven.state") == "in_meeting"
            assert _restarts_seen(host) == _restarts_seen(attendee) == 1
        finally:
            stack.start_janus(was_on)
        # The Janus coming back later changes nothing for the meeting.
        eventually(lambda: readyz(stack)[1]["checks"]["media"] == "ok", 30, "both servers up")
        time.sleep(1)
        assert placed_on(stack, meeting_id) == stack.janus_urls[other]
        assert _restarts_seen(host) == _restarts_seen(attendee) == 1
        host.locator("#end-meeting").click()
        host.locator("#end-confirm-yes").click()
        host.wait_for_function("() => window.haven.state === 'ended'")
