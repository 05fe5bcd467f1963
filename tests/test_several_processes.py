"""Several Haven processes serving one deployment: the channel layer in Redis, the state
in the database, one Janus shared by all.

Four Haven processes (A, B, C, D) run beside the stack's own, on the same database, with
REDIS_URL pointing at a redis-server this module starts in the test namespace. Each test
that ends a process ends its own one (C, D, then B, last), so the order of tests matters
only for the browser test, which comes last.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.harness import database, flows, ui
from tests.harness.browser import chromium
from tests.harness.flows import Socket
from tests.harness.stack import Balancer, HavenServer, Stack, several_processes
from tests.harness.staff import post_action, sign_in_staff, staff_row


@pytest.fixture(scope="module")
def servers(stack: Stack) -> Iterator[list[HavenServer]]:
    with several_processes(stack, 4) as running:
        yield running


@dataclass
class Meeting:
    id: str
    host: httpx.Client


def new_meeting(stack: Stack) -> Meeting:
    host, _ = flows.sign_in(stack)
    return Meeting(flows.create_meeting(host), host)


def attendee(stack: Stack, meeting: Meeting, name: str) -> tuple[flows.Invited, httpx.Client]:
    invited = flows.invite(stack, meeting.host, meeting.id, name)
    return invited, flows.enter_passcode(stack, invited)


def participant_rows(stack: Stack, meeting_id: str) -> list[dict[str, object]]:
    return database.query(
        stack,
        "SELECT p.* FROM room_participant p JOIN meetings_meeting m ON m.id = p.meeting_id"
        " WHERE m.public_id = ? ORDER BY p.id",
        uuid.UUID(meeting_id).hex,
    )


def audited(stack: Stack, action: str, meeting_id: str) -> list[dict[str, object]]:
    """Audit rows of one action about one meeting."""
    pk = participant_meeting_pk(stack, meeting_id)
    return [row for row in stack.audit(action) if row["meeting_id"] == pk]


def participant_meeting_pk(stack: Stack, meeting_id: str) -> int:
    rows = database.query(
        stack,
        "SELECT id FROM meetings_meeting WHERE public_id = ?",
        uuid.UUID(meeting_id).hex,
    )
    return int(rows[0]["id"])


def resumed_states(stack: Stack, meeting_id: str) -> list[str]:
    """What each resumed place was (admitted, waiting), from the audit log."""
    rows = audited(stack, "room.resumed", meeting_id)
    return sorted(json.loads(str(row["details"]))["state"] for row in rows)


def chat_text(socket: Socket, text: str) -> str:
    """Receive until a chat message with this text arrives (one's own come back too)."""
    while True:
        message = socket.expect("chat")["message"]["text"]
        if message == text:
            return message


def until(socket: Socket, kind: str, people: list[str], key: str) -> dict[str, object]:
    """Receive until a message of this kind names exactly these people (others pass by)."""
    while True:
        message = socket.expect(kind)
        if names(message[key]) == sorted(people):
            return message


def names(people: list[dict[str, Any]]) -> list[str]:
    return sorted(str(person["name"]) for person in people)


def test_S2_S3_waiting_admission_roster_lock_and_chat_across_processes(stack, servers):
    a, b = servers[0].view, servers[1].view
    meeting = new_meeting(stack)
    _, sam_client = attendee(stack, meeting, "Sam Carter")
    _, lee_client = attendee(stack, meeting, "Lee Late")
    host = Socket(a, meeting.host, meeting.id)
    assert flows.join(host)["type"] == "joined"
    sam = Socket(b, sam_client, meeting.id)
    waiting = flows.join(sam)
    assert waiting["type"] == "waiting" and waiting["resume"]
    # The host on A hears of someone waiting on B; the one waiting hears nothing.
    listed = host.expect("waiting_list")["waiting"]
    assert names(listed) == ["Sam Carter"]
    assert sam.nothing_arrives(0.5) == []
    host.send({"type": "admit", "participant": listed[0]["participant"]})
    admitted = sam.expect("admitted")
    assert names(admitted["roster"]) == ["Alex Morgan", "Sam Carter"]
    assert names(host.expect("roster")["roster"]) == ["Alex Morgan", "Sam Carter"]
    # Chat both ways.
    sam.request({"type": "chat", "text": "Hello from B"})
    assert chat_text(host, "Hello from B") == "Hello from B"
    host.request({"type": "chat", "text": "Hello from A"})
    assert chat_text(sam, "Hello from A") == "Hello from A"
    # The lock reaches B; someone arriving on B while locked waits, and A's host is told.
    host.send({"type": "lock"})
    assert sam.expect("lock_changed")["locked"] is True
    assert host.expect("lock_changed")["locked"] is True
    lee = Socket(b, lee_client, meeting.id)
    assert flows.join(lee)["locked"] is True
    assert host.expect("lock_attempt")["name"] == "Lee Late"
    lee_listed = host.expect("waiting_list")["waiting"]
    assert [person["flags"] for person in lee_listed] == [["arrived_while_locked"]]
    # Locked: the host on A cannot let Lee in; nothing reaches Lee on B.
    refused = host.request({"type": "admit", "participant": lee_listed[0]["participant"]})
    assert refused["code"] == "meeting_locked"
    assert lee.nothing_arrives(0.5) == []
    # A request to mute, from A to B (V3: a request only).
    host.send({"type": "ask", "participant": admitted["you"], "what": "mute"})
    assert sam.expect("asked")["what"] == "mute"


def test_S1_the_same_link_on_another_process_is_a_second_device(stack, servers):
    a, b = servers[0].view, servers[1].view
    meeting = new_meeting(stack)
    invited, first_client = attendee(stack, meeting, "Dee Double")
    host = Socket(a, meeting.host, meeting.id)
    flows.join(host)
    first = Socket(a, first_client, meeting.id)
    flows.join(first)
    assert [p["flags"] for p in host.expect("waiting_list")["waiting"]] == [[]]
    second = Socket(b, flows.enter_passcode(stack, invited), meeting.id)
    assert flows.join(second)["type"] == "waiting"
    listed = host.expect("waiting_list")["waiting"]
    assert [p["flags"] for p in listed] == [[], ["second_device"]]


def test_U1_signing_out_everywhere_on_one_process_closes_the_hosts_socket_on_another(
    stack, servers
):
    a, b = servers[0].view, servers[1].view
    host = sign_in_staff(stack, "host-elsewhere", "host")
    meeting_id = flows.create_meeting(host.client)
    socket = Socket(b, host.client, meeting_id)
    flows.join(socket)
    on_a = a.http()
    on_a.cookies = host.client.cookies
    post_action(on_a, "/accounts/sign-out-everywhere/")
    assert socket.expect("error")["code"] == "signed_out"
    with pytest.raises(Exception, match="4000"):
        socket.receive()
    assert staff_row(stack, host.email)["is_active"]


def test_a_resume_secret_works_only_for_its_own_person_and_only_while_they_are_there(
    stack, servers
):
    a, b = servers[0].view, servers[1].view
    meeting = new_meeting(stack)
    sam_invited, sam_client = attendee(stack, meeting, "Sam Carter")
    _, kim_client = attendee(stack, meeting, "Kim Other")
    host = Socket(a, meeting.host, meeting.id)
    flows.join(host)
    sam = Socket(b, sam_client, meeting.id)
    secret = flows.join(sam)["resume"]
    host.expect("waiting_list")
    # Someone else with Sam's secret: an ordinary join, their own place in the queue.
    kim = Socket(a, kim_client, meeting.id)
    flows.greet(kim)
    kim_join = {"type": "join", "private_place_confirmed": True, "resume": secret}
    assert kim.request(kim_join)["type"] == "waiting"
    listed = host.expect("waiting_list")["waiting"]
    assert names(listed) == ["Kim Other", "Sam Carter"]
    # Sam with a made-up secret: a second device, not Sam's place.
    guess = Socket(a, flows.enter_passcode(stack, sam_invited), meeting.id)
    flows.greet(guess)
    guessed = {"type": "join", "private_place_confirmed": True, "resume": "x" * 43}
    assert guess.request(guessed)["type"] == "waiting"
    flags = [(p["name"], p["flags"]) for p in host.expect("waiting_list")["waiting"]]
    assert flags == [("Sam Carter", []), ("Kim Other", []), ("Sam Carter", ["second_device"])]
    # Sam leaves; the secret is spent with the place.
    sam.request({"type": "leave"})
    host.expect("waiting_list")
    back = Socket(a, sam_client, meeting.id)
    flows.greet(back)
    again = {"type": "join", "private_place_confirmed": True, "resume": secret}
    assert back.request(again)["type"] == "waiting"
    assert audited(stack, "room.resumed", meeting.id) == []
    rows = participant_rows(stack, meeting.id)
    assert len([row for row in rows if row["name"] == "Sam Carter"]) == 3


def test_resuming_while_the_old_connection_is_open_moves_the_place_and_closes_the_old_one(
    stack, servers
):
    a, b = servers[0].view, servers[1].view
    meeting = new_meeting(stack)
    _, sam_client = attendee(stack, meeting, "Sam Carter")
    host = Socket(a, meeting.host, meeting.id)
    flows.join(host)
    old = Socket(b, sam_client, meeting.id)
    secret = flows.join(old)["resume"]
    host.send(
        {"type": "admit", "participant": host.expect("waiting_list")["waiting"][0]["participant"]}
    )
    sam_pid = old.expect("admitted")["you"]
    until(host, "roster", ["Alex Morgan", "Sam Carter"], "roster")
    until(host, "waiting_list", [], "waiting")
    new = Socket(a, sam_client, meeting.id)
    flows.greet(new)
    again = new.request({"type": "join", "private_place_confirmed": True, "resume": secret})
    assert again["type"] == "admitted" and again["you"] == sam_pid
    # The old connection is closed; its closing does not end the place it no longer holds.
    with pytest.raises(Exception, match="4000"):
        while True:
            old.receive()
    assert [m for m in host.nothing_arrives(1.5) if m["type"] in ("roster", "waiting_list")] == []
    rows = participant_rows(stack, meeting.id)
    assert [(row["name"], row["state"]) for row in rows] == [
        ("Alex Morgan", "admitted"),
        ("Sam Carter", "admitted"),
    ]
    new.request({"type": "chat", "text": "Still here"})
    assert chat_text(host, "Still here") == "Still here"


def test_when_a_process_dies_its_people_resume_on_another_and_the_rest_are_let_go(stack, servers):
    a, c = servers[0].view, servers[2].view
    meeting = new_meeting(stack)
    _, sam_client = attendee(stack, meeting, "Sam Carter")
    _, wyn_client = attendee(stack, meeting, "Wyn Waiting")
    _, gus_client = attendee(stack, meeting, "Gus Gone")
    host = Socket(a, meeting.host, meeting.id)
    flows.join(host)
    sam, gus, wyn = (
        Socket(c, client, meeting.id) for client in (sam_client, gus_client, wyn_client)
    )
    sam_secret = flows.join(sam)["resume"]
    flows.join(gus)
    for person in ("Sam Carter", "Gus Gone"):
        pid = next(
            p["participant"] for p in host.expect("waiting_list")["waiting"] if p["name"] == person
        )
        host.send({"type": "admit", "participant": pid})
    sam_pid = sam.expect("admitted")["you"]
    gus.expect("admitted")
    wyn_secret = flows.join(wyn)["resume"]
    until(host, "waiting_list", ["Wyn Waiting"], "waiting")

    servers[2].kill()

    # Sam's and Wyn's browsers open a new connection, here on A, and take their places back.
    sam_back = Socket(a, sam_client, meeting.id)
    flows.greet(sam_back)
    resumed = sam_back.request(
        {"type": "join", "private_place_confirmed": True, "resume": sam_secret}
    )
    assert resumed["type"] == "admitted" and resumed["you"] == sam_pid
    assert names(resumed["roster"]) == ["Alex Morgan", "Gus Gone", "Sam Carter"]
    wyn_back = Socket(a, wyn_client, meeting.id)
    flows.greet(wyn_back)
    wyn_again = wyn_back.request(
        {"type": "join", "private_place_confirmed": True, "resume": wyn_secret}
    )
    assert wyn_again["type"] == "waiting" and wyn_again["resume"] == wyn_secret
    # Gus never comes back: within seconds another process lets him go, and the host sees it.
    deadline = time.monotonic() + 30
    while True:
        message = host.receive(timeout=max(0.1, deadline - time.monotonic()))
        if message["type"] == "roster" and "Gus Gone" not in names(message["roster"]):
            break
    assert names(message["roster"]) == ["Alex Morgan", "Sam Carter"]
    # Nobody was let in twice, nobody is held as a second device, nothing is left behind.
    rows = participant_rows(stack, meeting.id)
    assert [(row["name"], row["state"], row["second_device"]) for row in rows] == [
        ("Alex Morgan", "admitted", 0),
        ("Sam Carter", "admitted", 0),
        ("Gus Gone", "left", 0),
        ("Wyn Waiting", "waiting", 0),
    ]
    gus_left = next(row for row in rows if row["name"] == "Gus Gone")
    assert gus_left["left_because"] == "disconnected"
    assert len(audited(stack, "room.admitted", meeting.id)) == 2  # Sam and Gus, once each
    assert resumed_states(stack, meeting.id) == ["admitted", "waiting"]
    # The chat works on the new connection.
    sam_back.request({"type": "chat", "text": "Back again"})
    assert chat_text(host, "Back again") == "Back again"


def test_a_process_stopped_for_an_upgrade_hands_its_people_to_another(stack, servers):
    a, d = servers[0].view, servers[3].view
    meeting = new_meeting(stack)
    _, sam_client = attendee(stack, meeting, "Sam Carter")
    host = Socket(a, meeting.host, meeting.id)
    flows.join(host)
    sam = Socket(d, sam_client, meeting.id)
    secret = flows.join(sam)["resume"]
    host.send(
        {"type": "admit", "participant": host.expect("waiting_list")["waiting"][0]["participant"]}
    )
    sam_pid = sam.expect("admitted")["you"]
    until(host, "roster", ["Alex Morgan", "Sam Carter"], "roster")

    servers[3].stop()

    # Sam's socket was closed as the server stopped (1012), and Sam was not let go.
    with pytest.raises(Exception, match="1012"):
        while True:
            sam.receive()
    sam_back = Socket(a, sam_client, meeting.id)
    flows.greet(sam_back)
    again = sam_back.request({"type": "join", "private_place_confirmed": True, "resume": secret})
    assert again["type"] == "admitted" and again["you"] == sam_pid
    assert names(again["roster"]) == ["Alex Morgan", "Sam Carter"]
    rows = participant_rows(stack, meeting.id)
    assert [(row["name"], row["state"]) for row in rows] == [
        ("Alex Morgan", "admitted"),
        ("Sam Carter", "admitted"),
    ]
    assert audited(stack, "room.left", meeting.id) == []


# The browser test: host on A, attendees on B through a load balancer; then B dies, the
# balancer sends new connections to A, and the attendees' pages reconnect there.

LOCKED_STATUS = "The meeting is locked. Nobody new can come in."
VIDEO_FRAMES = """async () => {
  let frames = 0;
  for (const pc of window.haven.peerConnections.subscribers.values()) {
    if (pc.connectionState === "closed") continue;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
    });
  }
  return frames;
}"""


def wait_for_video(page: Page, timeout_s: float = 30) -> int:
    """Wait until this page decodes someone's video on an open connection."""
    deadline = time.monotonic() + timeout_s
    while (frames := int(page.evaluate(VIDEO_FRAMES))) == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    return frames


def chat(page: Page, text: str) -> None:
    page.locator("#chat-text").fill(text)
    page.locator("#chat-send").click()
    expect(page.locator("#chat-text")).to_have_value("")


def sees_chat(page: Page, text: str) -> None:
    page.wait_for_function("(t) => window.haven.chat.some((m) => m.text === t)", arg=text)


def count_received(page: Page, kind: str) -> int:
    return int(page.evaluate("(k) => window.haven.received.filter((t) => t === k).length", kind))


@pytest.mark.browser
def test_S2_S3_V3_a_meeting_across_two_processes_survives_one_dying(stack, servers):
    a = servers[0].view
    # The attendees reach Haven through a load balancer, now sending them to B.
    balancer = Balancer(stack, servers[1])
    b = balancer.view
    meeting = ui.new_meeting(stack)
    with contextlib.closing(balancer), chromium(stack) as browser:
        host = ui.host_joins(browser, a, meeting, camera=True)
        sam = ui.attendee_waits(browser, b, meeting, camera=True)
        # Admission: the host on A lets in Sam, who waits on B.
        ui.let_in(host, sam)
        page = sam.page
        expect(page.locator("#roster-list > li")).to_have_count(2)
        # Media both ways: each decodes the other's video.
        assert wait_for_video(page) > 0, "Sam (on B) never saw the host's video"
        assert wait_for_video(host) > 0, "the host (on A) never saw Sam's video"
        # Chat both ways.
        chat(page, "Hello from process B")
        sees_chat(host, "Hello from process B")
        chat(host, "Hello from process A")
        sees_chat(page, "Hello from process A")
        # A request to mute (V3), then the host's mute on the media server.
        host.get_by_role("button", name="Ask Sam Carter to mute").click()
        notice = page.locator("#host-request")
        expect(notice).to_have_text("The host asks you to mute your microphone.")
        page.locator("#host-request-dismiss").click()
        page.wait_for_function("() => window.haven.mic.enabled === true")
        host.get_by_role("button", name="Mute Sam Carter").click()
        page.wait_for_function("() => window.haven.mic.hostMuted === true")
        # The lock (S3): someone arriving on B waits, and the host on A is told.
        host.locator("#lock-button").click()
        expect(host.locator("#lock-status")).to_have_text(LOCKED_STATUS)
        lee = ui.attendee_waits(browser, b, meeting, "Lee Late")
        expect(host.locator("#lock-attempt")).to_contain_text("Lee Late tried to join")
        expect(lee.page.locator("#waiting-message")).to_contain_text("The meeting is locked")

        # Process B dies. Sam's and Lee's pages reconnect, to A, and are where they were.
        removed_before = count_received(host, "feed_removed")
        servers[1].kill()
        balancer.send_to(servers[0])
        for each in (page, lee.page):
            each.wait_for_function("() => window.haven.reconnects === 1", timeout=20_000)
        page.wait_for_function(
            "() => window.haven.received.filter((t) => t === 'admitted').length === 2",
            timeout=20_000,
        )
        assert ui.haven(page, "state") == "in_meeting"
        assert ui.haven(lee.page, "state") == "waiting"
        expect(page.locator("#roster-list > li")).to_have_count(2)
        expect(host.locator("#roster-list > li")).to_have_count(2)
        # Sam's media comes back: the old feed is dropped, a new one decodes both ways.
        host.wait_for_function(
            "(n) => window.haven.received.filter((t) => t === 'feed_removed').length > n",
            arg=removed_before,
        )
        assert wait_for_video(host) > 0, "the host never saw Sam's video again"
        assert wait_for_video(page) > 0, "Sam never saw the host's video again"
        chat(page, "Back, through process A")
        sees_chat(host, "Back, through process A")
        # Lee is still waiting, once: no second device; unlocking lets Lee in from A.
        waiting_rows = host.locator("#waiting-list > li")
        expect(waiting_rows).to_have_count(1)
        expect(waiting_rows).not_to_contain_text("second device")
        host.locator("#lock-button").click()
        expect(host.locator("#lock-button")).to_have_text("Lock the meeting")
        ui.let_in(host, lee)
        expect(host.locator("#roster-list > li")).to_have_count(3)
    # Sam and Lee were let in once each; both took their places back without anyone.
    assert len(audited(stack, "room.admitted", meeting.id)) == 2
    assert resumed_states(stack, meeting.id) == ["admitted", "waiting"]
