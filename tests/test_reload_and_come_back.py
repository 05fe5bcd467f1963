"""Reload and come back (issue 21, item 9), over the real meeting socket.

A page that reloads, or a browser that crashes, closes its socket without `leave`. The
person is gone from the roster at once, but their place is held for
HAVEN_SERVER_GONE_SECONDS (6 s in the test stack): their page joins again with the resume
secret it kept in sessionStorage, without a fresh private-place confirmation, and is back
where it was, with nobody letting it in again. `leave`, a removal (S8), a lock while they
are away (S3), the meeting ending or the grace passing end the place for good; a secret
that is not this person's, for this meeting, is never a way in (S1). A second device is
still held and flagged (S1).
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.harness import database, flows, ui
from tests.harness.flows import Socket
from tests.harness.stack import Stack
from tests.test_in_meeting_protocol import Meeting, start_meeting
from tests.test_S8_access_rechecked_on_join import assert_nothing_logged_at_error
from tests.test_V3_host_mute_stands import host_muted, publish


class Person:
    """Someone invited, with their browser session, socket, id and resume secret."""

    def __init__(self, stack: Stack, meeting: Meeting, name: str) -> None:
        self.name = name
        self.invited = flows.invite(stack, meeting.host_client, meeting.id, name)
        self.client: httpx.Client = flows.enter_passcode(stack, self.invited)
        self.socket = Socket(stack, self.client, meeting.id)
        waiting = flows.join(self.socket)
        self.secret: str = waiting["resume"]
        self.pid: str = next(p for p in meeting.waiting(name) if p["name"] == name)["participant"]


def let_in(stack: Stack, meeting: Meeting, name: str = "Sam Carter") -> Person:
    person = Person(stack, meeting, name)
    meeting.host.send({"type": "admit", "participant": person.pid})
    assert person.socket.expect("admitted")["you"] == person.pid
    roster_until(meeting, lambda names: name in names)
    return person


def roster_until(meeting: Meeting, wanted: Any) -> list[str]:
    """The host's next roster whose names pass `wanted`."""
    while True:
        names = [p["name"] for p in meeting.host.expect("roster")["roster"]]
        if wanted(names):
            return names


def reload(person: Person, meeting: Meeting) -> None:
    """The page goes away without `leave`: the server sees the socket close, and the
    person leaves the host's roster at once."""
    person.socket.close()
    roster_until(meeting, lambda names: person.name not in names)


def come_back(stack: Stack, person: Person, meeting_id: str, confirmed: bool = False) -> Any:
    """The reloaded page: a new socket in the same session, `join` with the kept secret
    (and no fresh confirmation, as the page sends it)."""
    person.socket = Socket(stack, person.client, meeting_id)
    flows.greet(person.socket)
    return person.socket.request(
        {"type": "join", "private_place_confirmed": confirmed, "resume": person.secret}
    )


def rows_of(stack: Stack, meeting_id: str, name: str) -> list[dict[str, Any]]:
    rows = database.query(
        stack,
        "SELECT p.* FROM room_participant p JOIN meetings_meeting m ON m.id = p.meeting_id"
        " WHERE m.public_id = ? AND p.name = ? ORDER BY p.id",
        meeting_id.replace("-", ""),
        name,
    )
    return rows


def details(stack: Stack, action: str, meeting_id: str) -> list[dict[str, Any]]:
    return [json.loads(row["details"]) for row in ui.audit_about(stack, action, meeting_id)]


@pytest.mark.parametrize("confirmed", [False, True], ids=["reloaded_page", "reconnecting_page"])
def test_S2_a_reload_puts_an_admitted_person_back_in_the_meeting_without_being_let_in_again(
    stack, confirmed
):
    meeting = start_meeting(stack)
    sam = let_in(stack, meeting)
    logged = stack.log.stat().st_size
    reload(sam, meeting)
    back = come_back(stack, sam, meeting.id, confirmed)
    assert back["type"] == "admitted" and back["you"] == sam.pid
    assert "Sam Carter" in [p["name"] for p in back["roster"]]
    # The host sees them back, with no waiting list entry and nothing to do.
    assert roster_until(meeting, lambda names: "Sam Carter" in names)
    assert [m for m in meeting.host.nothing_arrives(0.5) if m["type"] == "waiting_list"] == []
    # They are in: their chat reaches the host.
    sam.socket.request({"type": "chat", "text": "Back after a reload"})
    assert meeting.host.expect("chat")["message"]["text"] == "Back after a reload"
    # One place, let in once; the return audited as a resume is, and nothing at ERROR.
    rows = rows_of(stack, meeting.id, "Sam Carter")
    assert [(r["state"], r["left_because"], r["second_device"]) for r in rows] == [
        ("admitted", "", 0)
    ]
    assert len(ui.audit_about(stack, "room.admitted", meeting.id)) == 1
    assert details(stack, "room.resumed", meeting.id) == [
        {"state": "admitted", "after_close": True}
    ]
    left = details(stack, "room.left", meeting.id)
    assert left == [{"was": "admitted", "because": "disconnected"}]
    assert_nothing_logged_at_error(stack, logged)


def test_S2_a_reload_in_the_waiting_room_keeps_the_place_in_the_queue(stack):
    meeting = start_meeting(stack)
    wes = Person(stack, meeting, "Wes Waiting")
    kim = Person(stack, meeting, "Kim Later")
    wes.socket.close()
    assert [p["name"] for p in meeting.waiting()] == ["Kim Later"]
    back = come_back(stack, wes, meeting.id)
    assert back["type"] == "waiting" and back["resume"] == wes.secret
    queue = meeting.waiting("Wes Waiting")
    assert [(p["name"], p["flags"]) for p in queue] == [("Wes Waiting", []), ("Kim Later", [])]
    assert wes.socket.nothing_arrives(0.5) == []  # still nothing of the meeting (S2)
    meeting.host.send({"type": "admit", "participant": wes.pid})
    assert wes.socket.expect("admitted")["you"] == wes.pid
    assert kim.pid != wes.pid
    assert details(stack, "room.resumed", meeting.id) == [{"state": "waiting", "after_close": True}]


def test_the_host_reloads_and_is_back_in_their_meeting(stack):
    meeting = start_meeting(stack)
    sam = let_in(stack, meeting)
    host_secret = next(m for m in meeting.host.received if m["type"] == "joined")["resume"]
    meeting.host.close()
    while True:
        roster = [p["name"] for p in sam.socket.expect("roster")["roster"]]
        if roster == ["Sam Carter"]:
            break
    host = Socket(stack, meeting.host_client, meeting.id)
    flows.greet(host)
    back = host.request({"type": "join", "private_place_confirmed": False, "resume": host_secret})
    assert back["type"] == "joined" and back["you"] == meeting.host_pid
    assert back["resume"] == host_secret
    assert sorted(p["name"] for p in back["roster"]) == ["Alex Morgan", "Sam Carter"]
    assert details(stack, "room.resumed", meeting.id) == [
        {"state": "admitted", "after_close": True}
    ]
    # No second start of the meeting, no second "host joined".
    assert len(ui.audit_about(stack, "room.host_joined", meeting.id)) == 1


def test_S2_after_leave_the_secret_is_spent_and_the_person_waits_again(stack):
    meeting = start_meeting(stack)
    sam = let_in(stack, meeting)
    assert sam.socket.request({"type": "leave"})["type"] == "left"
    roster_until(meeting, lambda names: "Sam Carter" not in names)
    refused = come_back(stack, sam, meeting.id)
    assert refused["code"] == "confirmation_required"
    # The page then asks for the confirmation and joins as anyone does: the waiting room.
    again = sam.socket.request(
        {"type": "join", "private_place_confirmed": True, "resume": sam.secret}
    )
    assert again["type"] == "waiting" and again["resume"] != sam.secret
    queue = meeting.waiting("Sam Carter")
    assert [(p["name"], p["flags"]) for p in queue] == [("Sam Carter", [])]
    assert queue[0]["participant"] != sam.pid
    assert details(stack, "room.resumed", meeting.id) == []
    assert details(stack, "room.resume_declined", meeting.id) == [
        {"because": "not_held"},
        {"because": "not_held"},
    ]
    assert len(ui.audit_about(stack, "room.admitted", meeting.id)) == 1


def test_S8_a_removed_person_cannot_come_back_by_resume(stack):
    meeting = start_meeting(stack)
    rob = let_in(stack, meeting, "Rob Removed")
    # A second tab of the same session, its socket opened before the removal.
    tab = Socket(stack, rob.client, meeting.id)
    flows.greet(tab)
    meeting.host.send({"type": "remove", "participant": rob.pid, "reason": "Recorded us."})
    assert rob.socket.expect("removed") == {"type": "removed"}
    roster_until(meeting, lambda names: "Rob Removed" not in names)
    logged = stack.log.stat().st_size
    # The reloaded page cannot even open its socket.
    with pytest.raises(Exception, match="403"):
        Socket(stack, rob.client, meeting.id)
    # The socket opened before: its resume is refused, audited, and closed.
    reply = tab.request({"type": "join", "private_place_confirmed": False, "resume": rob.secret})
    assert reply["code"] == "access_withdrawn"
    with pytest.raises(Exception, match="4403"):
        tab.receive()
    assert details(stack, "room.access_withdrawn", meeting.id) == [
        {"because": "removed_or_banned", "resumed": True}
    ]
    assert details(stack, "room.resumed", meeting.id) == []
    rows = rows_of(stack, meeting.id, "Rob Removed")
    assert [(r["state"], r["left_because"]) for r in rows] == [("left", "removed")]
    assert not [m for m in meeting.host.nothing_arrives(0.5) if m["type"] == "roster"]
    assert_nothing_logged_at_error(stack, logged)


def test_S3_a_meeting_locked_while_they_are_away_gives_their_place_up(stack):
    meeting = start_meeting(stack)
    sam = let_in(stack, meeting)
    reload(sam, meeting)
    meeting.host.send({"type": "lock"})
    assert meeting.host.expect("lock_changed")["locked"] is True
    assert len(ui.audit_about(stack, "room.place_given_up", meeting.id)) == 1
    refused = come_back(stack, sam, meeting.id)
    assert refused["code"] == "confirmation_required"
    # Joining as anyone does: held in the waiting room of a locked meeting, the host told.
    waiting = sam.socket.request(
        {"type": "join", "private_place_confirmed": True, "resume": sam.secret}
    )
    assert waiting["type"] == "waiting" and waiting["locked"] is True
    assert meeting.host.expect("lock_attempt") == {"type": "lock_attempt", "name": "Sam Carter"}
    (person,) = meeting.waiting("Sam Carter")
    assert person["flags"] == ["arrived_while_locked"] and person["participant"] != sam.pid
    refused_admit = meeting.host.request({"type": "admit", "participant": person["participant"]})
    assert refused_admit["code"] == "meeting_locked"
    assert sam.socket.nothing_arrives(0.5) == []  # nothing of the meeting (S2)
    assert details(stack, "room.resumed", meeting.id) == []
    assert [d["because"] for d in details(stack, "room.resume_declined", meeting.id)] == [
        "not_held",
        "not_held",
    ]


def test_S3_someone_in_a_meeting_locked_before_they_reload_is_not_new_and_comes_back(stack):
    meeting = start_meeting(stack)
    sam = let_in(stack, meeting)
    meeting.host.send({"type": "lock"})
    assert sam.socket.expect("lock_changed")["locked"] is True
    reload(sam, meeting)
    back = come_back(stack, sam, meeting.id)
    assert back["type"] == "admitted" and back["you"] == sam.pid
    assert ui.audit_about(stack, "room.place_given_up", meeting.id) == []
    assert [m for m in meeting.host.nothing_arrives(0.5) if m["type"] == "lock_attempt"] == []


def test_S1_a_secret_is_no_way_in_for_anyone_else_nor_in_another_meeting(stack):
    meeting = start_meeting(stack)
    sam = let_in(stack, meeting)
    kim = Person(stack, meeting, "Kim Other")
    reload(sam, meeting)
    logged = stack.log.stat().st_size
    stolen = {"type": "join", "private_place_confirmed": False, "resume": sam.secret}
    # Another invitee with Sam's secret (Kim's own socket, Kim waiting on another one).
    kim_tab = Socket(stack, kim.client, meeting.id)
    flows.greet(kim_tab)
    assert kim_tab.request(dict(stolen))["code"] == "confirmation_required"
    # Kim joining as anyone does, Sam's secret or not: Kim's own place in the queue.
    kim_second = kim_tab.request({**stolen, "private_place_confirmed": True})
    assert kim_second["type"] == "waiting" and kim_second["resume"] != sam.secret
    flags = [(p["name"], p["flags"]) for p in meeting.waiting()]
    assert flags == [("Kim Other", []), ("Kim Other", ["second_device"])]
    # A guessed secret in Sam's own session.
    guess = Socket(stack, sam.client, meeting.id)
    flows.greet(guess)
    assert guess.request({**stolen, "resume": "x" * 43})["code"] == "confirmation_required"
    # None of it let anyone in; Sam's own page still can.
    assert [m for m in kim.socket.nothing_arrives(0.3) if m["type"] == "admitted"] == []
    assert details(stack, "room.resumed", meeting.id) == []
    assert come_back(stack, sam, meeting.id)["type"] == "admitted"
    assert len(ui.audit_about(stack, "room.admitted", meeting.id)) == 1
    # The host's own secret for this meeting, in the host's session, in another meeting.
    other = Socket(stack, meeting.host_client, flows.create_meeting(meeting.host_client))
    flows.greet(other)
    host_secret = next(m for m in meeting.host.received if m["type"] == "joined")["resume"]
    assert other.request({**stolen, "resume": host_secret})["code"] == "confirmation_required"
    assert_nothing_logged_at_error(stack, logged)


def test_S1_a_second_device_is_held_and_flagged_while_the_first_is_away_and_after(stack):
    meeting = start_meeting(stack)
    dee = let_in(stack, meeting, "Dee Double")
    reload(dee, meeting)
    # While Dee's place is held, the same link on another device is a second device.
    device = Socket(stack, flows.enter_passcode(stack, dee.invited), meeting.id)
    assert flows.join(device)["type"] == "waiting"
    (person,) = meeting.waiting("Dee Double")
    assert person["flags"] == ["second_device"]
    # Dee's page comes back; the second device stays waiting, flagged, and is not let in
    # by "admit everyone".
    assert come_back(stack, dee, meeting.id)["type"] == "admitted"
    held_back = meeting.host.request({"type": "admit_all"})
    assert held_back["admitted"] == 0
    assert [h["because"] for h in held_back["held_back"]] == ["second_device"]
    assert [m for m in device.nothing_arrives(0.5) if m["type"] == "admitted"] == []
    rows = database.query(
        stack,
        "SELECT audit.details FROM audit_auditevent audit WHERE audit.action = ?",
        "room.entered_waiting_room",
    )
    assert json.loads(rows[-1]["details"])["second_device"] is True


def test_S2_after_the_grace_the_place_is_gone_and_the_person_waits_again(stack):
    meeting = start_meeting(stack)
    sam = let_in(stack, meeting)
    reload(sam, meeting)
    time.sleep(float(stack.env["HAVEN_SERVER_GONE_SECONDS"]) + 0.5)
    assert come_back(stack, sam, meeting.id)["code"] == "confirmation_required"
    again = sam.socket.request(
        {"type": "join", "private_place_confirmed": True, "resume": sam.secret}
    )
    assert again["type"] == "waiting"
    # The place that expired no longer counts: not a second device.
    (person,) = meeting.waiting("Sam Carter")
    assert person["flags"] == [] and person["participant"] != sam.pid
    assert details(stack, "room.resume_declined", meeting.id) == [
        {"because": "expired"},
        {"because": "expired"},
    ]
    assert details(stack, "room.resumed", meeting.id) == []


def test_no_return_once_the_meeting_has_ended(stack):
    meeting = start_meeting(stack)
    sam = let_in(stack, meeting)
    reload(sam, meeting)
    meeting.host.send({"type": "end_meeting", "transcript": "destroy"})
    meeting.host.expect("meeting_ended")
    with pytest.raises(Exception, match="403"):
        come_back(stack, sam, meeting.id)
    assert details(stack, "room.resumed", meeting.id) == []


def test_V3_a_host_mute_stands_after_a_reload_until_the_person_unmutes(stack):
    meeting = start_meeting(stack)
    sam = let_in(stack, meeting)
    publish(sam.socket)
    meeting.host.send({"type": "mute", "participant": sam.pid})
    assert sam.socket.expect("muted_by_host") == {"type": "muted_by_host"}
    reload(sam, meeting)
    assert come_back(stack, sam, meeting.id)["type"] == "admitted"
    publish(sam.socket)  # the reloaded page sends its camera and microphone again
    assert sam.socket.expect("muted_by_host") == {"type": "muted_by_host"}
    assert host_muted(stack, sam.pid)
    assert sam.socket.request({"type": "unmute_self"}) == {"type": "unmuted"}
    assert not host_muted(stack, sam.pid)
