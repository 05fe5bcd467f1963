"""In the meeting, over the raw protocol against a live Haven and Janus (issue 4).

Forbidden paths are tested as hard as allowed ones: an attendee who sends the host's
messages by hand is refused with a stable code, audited, and nothing reaches Janus.
"""

import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.harness import database, flows
from tests.harness.flows import Socket
from tests.harness.staff import age_sessions, post_action, sign_in_staff, staff_row

ATTENDEE_ROLES = ["professional", "parent_carer", "young_person", "child"]
SCREEN_OFFER = (
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
)


@dataclass
class Meeting:
    id: str
    host_client: httpx.Client
    host: Socket
    host_pid: str

    def waiting(self, name: str | None = None) -> list[dict[str, Any]]:
        """The host's next waiting list (that includes `name`, if given)."""
        while True:
            waiting = self.host.expect("waiting_list")["waiting"]
            if name is None or any(p["name"] == name for p in waiting):
                return waiting


def start_meeting(stack, title="Annual review") -> Meeting:
    host_client, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host_client, title)
    host = Socket(stack, host_client, meeting_id)
    joined = flows.join(host)
    return Meeting(meeting_id, host_client, host, joined["you"])


def arrive(stack, meeting: Meeting, name="Sam Carter", role="parent_carer", invited=None):
    """An invitee enters their passcode and joins the waiting room."""
    invited = invited or flows.invite(stack, meeting.host_client, meeting.id, name, role=role)
    client = flows.enter_passcode(stack, invited)
    socket = Socket(stack, client, meeting.id)
    waiting = flows.join(socket)
    person = next(p for p in meeting.waiting(name) if p["name"] == name)
    return socket, person["participant"], waiting, invited


def admitted(stack, meeting: Meeting, name="Sam Carter", role="parent_carer"):
    socket, pid, _, invited = arrive(stack, meeting, name, role)
    meeting.host.send({"type": "admit", "participant": pid})
    socket.expect("admitted")
    return socket, pid, invited


def media_session_opened(stack, pid: str, timeout: float = 10) -> None:
    """Someone let in has their media session opened at once (their own `join` reaches
    Janus, over their own handle), before they ask for any media."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if [
            line for line in stack.media_requests() if line.split()[1:] == ["join", f"haven-{pid}"]
        ]:
            return
        time.sleep(0.05)
    raise AssertionError(f"no media session was opened for {pid}")


def host_messages(target: str, host_pid: str) -> list[dict[str, Any]]:
    """Every message only the host may send, aimed at someone real."""
    return [
        {"type": "admit", "participant": target},
        {"type": "admit_all"},
        {"type": "turn_away", "participant": target, "message": "Go away"},
        {"type": "lock"},
        {"type": "unlock"},
        {"type": "remove", "participant": host_pid, "reason": "I want to be in charge"},
        {"type": "ban", "participant": host_pid, "reason": "I want to be in charge"},
        {"type": "ask", "participant": host_pid, "what": "mute"},
        {"type": "ask", "participant": None, "what": "camera_off"},
        {"type": "mute", "participant": host_pid},
        {"type": "mute", "participant": None},
        {"type": "lower_hand", "participant": host_pid},
        {"type": "publish", "source": "screen", "jsep": {"type": "offer", "sdp": SCREEN_OFFER}},
        {"type": "unpublish", "source": "screen"},
        {"type": "end_meeting"},
    ]


MEDIA_CONTROL = ("moderate", "kick", "destroy", "allowed", "publish", "join")


@pytest.mark.parametrize("role", ATTENDEE_ROLES)
def test_S2_S3_S8_V2_V3_an_attendee_sending_host_messages_is_refused_audited_and_janus_untouched(
    stack, role
):
    meeting = start_meeting(stack)
    inside, inside_pid, _ = admitted(stack, meeting, "Ann Admitted", role)
    waiting, waiting_pid, _, _ = arrive(stack, meeting, "Wes Waiting", role)
    # What the admission itself sends Janus is over before counting what reaches it.
    media_session_opened(stack, inside_pid)
    host_pid = meeting.host_pid
    requests_before = stack.media_requests()
    refused_before = len(stack.audit("protocol.refused"))
    sent = []
    for socket in (inside, waiting):
        for message in host_messages(waiting_pid, host_pid):
            reply = socket.request(message)
            assert reply["type"] == "error", (message, reply)
            assert reply["code"] == "not_allowed", (message, reply)
            sent.append(message["type"])
    # No message of any kind unmutes someone else or turns their camera on (V3).
    for socket in (inside, waiting):
        assert socket.request({"type": "unmute", "participant": host_pid})["code"] == "unknown_type"
        assert (
            socket.request({"type": "unmute_self", "participant": host_pid})["code"]
            == "bad_message"
        )
        assert (
            socket.request({"type": "ask", "participant": host_pid, "what": "camera_on"})["code"]
            == "bad_message"
        )
    refused = stack.audit("protocol.refused")[refused_before:]
    assert [json.loads(row["details"])["message_type"] for row in refused] == sent
    assert all(row["actor_kind"] == "attendee" for row in refused)
    # Nothing reached the media server: no request at all while this went on.
    new_requests = stack.media_requests()[len(requests_before) :]
    assert not [line for line in new_requests if line.split()[1] in MEDIA_CONTROL], new_requests
    # And nothing changed: the meeting is live, unlocked, the host still there.
    assert not stack.audit("meeting.locked") or all(
        r["actor_kind"] == "staff" for r in stack.audit("meeting.locked")
    )
    # The meeting still works for the host.
    meeting.host.send({"type": "admit", "participant": waiting_pid})
    assert waiting.expect("admitted")["you"] == waiting_pid


def test_S3_a_locked_meeting_lets_nobody_new_in_and_tells_the_host(stack):
    meeting = start_meeting(stack)
    meeting.host.send({"type": "lock"})
    assert meeting.host.expect("lock_changed") == {"type": "lock_changed", "locked": True}
    invited = flows.invite(stack, meeting.host_client, meeting.id, "Lou Late")
    client = flows.enter_passcode(stack, invited)
    late = Socket(stack, client, meeting.id)
    waiting = flows.join(late)
    assert waiting["locked"] is True and "locked" in waiting["message"]
    assert meeting.host.expect("lock_attempt") == {"type": "lock_attempt", "name": "Lou Late"}
    person = meeting.waiting("Lou Late")[0]
    assert person["flags"] == ["arrived_while_locked"]
    refused = meeting.host.request({"type": "admit", "participant": person["participant"]})
    assert refused["code"] == "meeting_locked"
    assert meeting.host.request({"type": "admit_all"})["code"] == "meeting_locked"
    assert late.nothing_arrives(0.5) == []  # still nothing of the meeting
    meeting.host.send({"type": "unlock"})
    assert late.expect("lock_changed") == {"type": "lock_changed", "locked": False}
    meeting.host.send({"type": "admit", "participant": person["participant"]})
    assert late.expect("admitted")["you"] == person["participant"]
    actions = [row["action"] for row in stack.audit() if row["meeting_id"] is not None]
    assert {"meeting.locked", "meeting.unlocked", "room.arrived_while_locked"} <= set(actions)


def test_S2_the_host_admits_everyone_or_turns_one_away_with_a_message(stack):
    meeting = start_meeting(stack)
    first, _, _, _ = arrive(stack, meeting, "Fay First")
    second, second_pid, _, invited = arrive(stack, meeting, "Sid Second")
    meeting.host.send(
        {"type": "turn_away", "participant": second_pid, "message": "Please come at 2pm."}
    )
    assert second.expect("turned_away") == {"type": "turned_away", "message": "Please come at 2pm."}
    with pytest.raises(Exception, match="4000"):
        second.receive()
    assert stack.audit("room.turned_away")
    meeting.host.send({"type": "admit_all"})
    assert first.expect("admitted")["type"] == "admitted"
    # Turned away is not removed: they may come back to the waiting room.
    _back, back_pid, _, _ = arrive(stack, meeting, "Sid Second", invited=invited)
    assert back_pid != second_pid


def test_S2_admit_all_gives_each_person_the_whole_meeting_and_their_own_chat(stack):
    """Everyone let in at once gets the roster and feeds as the admission left them (read
    once for all of them), and only the chat since they were first let in."""
    meeting = start_meeting(stack)
    early, _, early_invited = admitted(stack, meeting, "Eve Early")
    assert early.request({"type": "chat", "text": "Before the others came."})["type"] == "chat_sent"
    # Eve leaves and comes back with the others: her chat since she first came in.
    early.send({"type": "leave"})
    early.expect("left")
    early.close()
    again = flows.enter_passcode(stack, early_invited)
    names = ["Ann Ash", "Bob Birch", "Cat Cedar"]
    sockets = {name: arrive(stack, meeting, name)[:2] for name in names}
    back = Socket(stack, again, meeting.id)
    flows.join(back)
    meeting.waiting("Eve Early")
    meeting.host.send({"type": "admit_all"})
    everyone = {"Alex Morgan", "Eve Early", *names}
    for name, (socket, pid) in {**sockets, "Eve Early": (back, None)}.items():
        message = socket.expect("admitted")
        assert {person["name"] for person in message["roster"]} == everyone, name
        assert pid is None or message["you"] == pid
        chat = [item["text"] for item in message["chat"]]
        assert chat == (["Before the others came."] if name == "Eve Early" else []), name


def test_S2_people_let_in_hear_of_every_change_made_right_after_it(stack):
    """The admission's snapshot and the meeting's later broadcasts do not race: whatever
    changes just after the admission (here someone leaves) reaches those let in."""
    meeting = start_meeting(stack)
    leaver = admitted(stack, meeting, "Lee Leaving")[0]
    newcomers = [arrive(stack, meeting, name)[0] for name in ("Nia New", "Ola New")]
    meeting.host.send({"type": "admit_all"})
    leaver.send({"type": "leave"})
    for socket in newcomers:
        names = {person["name"] for person in socket.expect("admitted")["roster"]}
        while "Lee Leaving" in names:
            names = {person["name"] for person in socket.expect("roster")["roster"]}
        assert names == {"Alex Morgan", "Nia New", "Ola New"}


def test_S8_a_removed_person_cannot_come_back_by_the_same_link_or_another_device(stack):
    meeting = start_meeting(stack)
    attendee, pid, invited = admitted(stack, meeting, "Rob Removed")
    assert meeting.host.request({"type": "remove", "participant": pid})["code"] == "bad_message"
    assert (
        meeting.host.request({"type": "remove", "participant": pid, "reason": ""})["code"]
        == "bad_message"
    )
    other_device = flows.enter_passcode(stack, invited)  # a second device, ready to join
    meeting.host.send({"type": "remove", "participant": pid, "reason": "Recorded the meeting."})
    assert attendee.expect("removed") == {"type": "removed"}
    with pytest.raises(Exception, match="4000"):
        attendee.receive()
    rows = [
        r
        for r in stack.audit("room.removed")
        if invited.email in r["actor_label"] or r["invitation_id"]
    ]
    reason = json.loads(rows[-1]["details"])["reason"]
    assert database.note_text(stack, reason) == "Recorded the meeting."
    # The same link on another device: the link itself says they cannot join, and even a
    # session that had entered the passcode before is refused by the room and its socket.
    page = stack.http().get(flows.path_of(stack, invited.link))
    assert "You cannot join this meeting" in page.text
    with pytest.raises(Exception, match="403"):
        Socket(stack, other_device, meeting.id)
    assert other_device.get(f"/room/{meeting.id}/").status_code == 404


def test_S8_a_banned_person_is_kept_out_of_every_meeting_of_the_organisation(stack):
    meeting = start_meeting(stack)
    attendee, pid, invited = admitted(stack, meeting, "Bea Banned")
    # Another host of the organisation had already invited the same person elsewhere.
    other = start_meeting(stack, "Another meeting")
    elsewhere = flows.invite(stack, other.host_client, other.id, "Bea Banned", email=invited.email)
    elsewhere_session = flows.enter_passcode(stack, elsewhere)
    meeting.host.send({"type": "ban", "participant": pid, "reason": "Threatened staff."})
    assert attendee.expect("removed") == {"type": "removed"}
    assert stack.audit("room.banned")
    # That earlier link and session stop working.
    page = stack.http().get(flows.path_of(stack, elsewhere.link))
    assert "You cannot join this meeting" in page.text
    with pytest.raises(Exception, match="403"):
        Socket(stack, elsewhere_session, other.id)
    # And nobody can invite them again until a coordinator lifts the ban.
    third = start_meeting(stack, "A third meeting")
    refused = flows.post_form(
        third.host_client,
        f"/meetings/{third.id}/",
        {"name": "Bea Banned", "email": invited.email, "role": "parent_carer"},
    )
    assert refused.status_code == 400 and "cannot be invited" in refused.text


def test_S1_a_second_device_on_the_same_link_is_held_and_flagged(stack):
    meeting = start_meeting(stack)
    _first, _pid, invited = admitted(stack, meeting, "Dee Double")
    second_client = flows.enter_passcode(stack, invited)
    second = Socket(stack, second_client, meeting.id)
    assert flows.join(second)["type"] == "waiting"
    person = meeting.waiting("Dee Double")[0]
    assert person["flags"] == ["second_device"]
    assert second.nothing_arrives(0.5) == []
    rows = stack.audit("room.entered_waiting_room")
    assert json.loads(rows[-1]["details"])["second_device"] is True


def test_V3_the_host_asks_and_mutes_and_only_the_person_unmutes(stack):
    meeting = start_meeting(stack)
    one, one_pid, _ = admitted(stack, meeting, "Oli One")
    two, _, _ = admitted(stack, meeting, "Tia Two")
    meeting.host.send({"type": "ask", "participant": one_pid, "what": "mute"})
    assert one.expect("asked") == {"type": "asked", "what": "mute", "everyone": False}
    meeting.host.send({"type": "ask", "participant": None, "what": "camera_off"})
    assert one.expect("asked") == {"type": "asked", "what": "camera_off", "everyone": True}
    assert two.expect("asked") == {"type": "asked", "what": "camera_off", "everyone": True}
    meeting.host.send({"type": "mute", "participant": None})
    assert one.expect("muted_by_host") == {"type": "muted_by_host"}
    assert two.expect("muted_by_host") == {"type": "muted_by_host"}
    assert one.request({"type": "unmute_self"}) == {"type": "unmuted"}
    assert [json.loads(r["details"])["what"] for r in stack.audit("room.asked")][-2:] == [
        "mute",
        "camera_off",
    ]


def test_U1_only_staff_appear_as_staff(stack):
    meeting = start_meeting(stack)
    _, pid, _ = admitted(stack, meeting, "Alex Morgan (Staff)")
    roster = meeting.host.expect("roster")["roster"]
    host = next(p for p in roster if p["is_host"])
    pretender = next(p for p in roster if p["participant"] == pid)
    assert host["job_title"] == "IASS Officer"
    assert host["staff_page"] == "https://sendiassleicester.org.uk/about/who-we-are/"
    assert pretender["is_host"] is False and "job_title" not in pretender
    assert [p["is_host"] for p in roster].count(True) == 1


def supervision(roster: list[dict[str, Any]]) -> dict[str, str | None]:
    return {person["name"]: person.get("supervised_by") for person in roster}


def test_U5_the_hosts_roster_and_waiting_list_name_who_supervises_and_no_attendees_do(stack):
    meeting = start_meeting(stack)
    parent, _, _ = admitted(stack, meeting, "Pat Carter")
    marked = flows.invite(
        stack, meeting.host_client, meeting.id, "Ray Marked", supervising_adult="Sue Support"
    )
    ray, ray_pid, _, _ = arrive(stack, meeting, "Ray Marked", invited=marked)
    meeting.host.send({"type": "admit", "participant": ray_pid})
    ray.expect("admitted")
    mias = flows.invite(stack, meeting.host_client, meeting.id, "Mia Carter", role="child")
    child = Socket(stack, flows.enter_passcode(stack, mias), meeting.id)
    flows.join(child)
    # Still waiting, the child's adult is on the host's waiting list (only hosts get it).
    waiting = meeting.waiting("Mia Carter")
    assert supervision(waiting) == {"Mia Carter": "Parent of Mia Carter"}
    child_pid = waiting[0]["participant"]
    meeting.host.send({"type": "admit", "participant": child_pid})
    child.expect("admitted")
    everyone = {"Alex Morgan", "Pat Carter", "Ray Marked", "Mia Carter"}

    # The host: the child's adult named at consent, and the marked person's; nobody else's.
    while set(supervision(roster := meeting.host.expect("roster")["roster"])) != everyone:
        pass
    assert supervision(roster) == {
        "Alex Morgan": None,
        "Pat Carter": None,
        "Ray Marked": "Sue Support",
        "Mia Carter": "Parent of Mia Carter",
    }
    # The host's own view as it joins (a second tab) carries it too.
    again = Socket(stack, meeting.host_client, meeting.id)
    assert supervision(flows.join(again)["roster"])["Mia Carter"] == "Parent of Mia Carter"

    # Attendees: not in what they get when let in, nor in any roster sent to them.
    for socket in (parent, ray, child):
        socket.nothing_arrives(1.0)
        seen = json.dumps(socket.received)
        rosters = [m for m in socket.received if m["type"] in ("admitted", "roster")]
        assert any(set(supervision(m["roster"])) == everyone for m in rosters)
        assert "supervised_by" not in seen
        assert "Sue Support" not in seen and "Parent of Mia Carter" not in seen


def test_bad_input_in_the_meeting_gets_clear_errors_and_the_meeting_survives(stack):
    meeting = start_meeting(stack)
    attendee, pid, _ = admitted(stack, meeting, "Bo Bad")
    # Someone who is not waiting, twice; someone unknown; someone who left.
    assert meeting.host.request({"type": "admit", "participant": pid})["code"] == "not_found"
    assert meeting.host.request({"type": "admit", "participant": "p_00"})["code"] == "not_found"
    gone, gone_pid, _ = admitted(stack, meeting, "Lee Left")
    gone.send({"type": "leave"})
    gone.expect("left")
    assert (
        meeting.host.request({"type": "remove", "participant": gone_pid, "reason": "x"})["code"]
        == "not_found"
    )
    assert meeting.host.request({"type": "mute", "participant": gone_pid})["code"] == "not_found"
    # An oversized frame.
    assert attendee.request("x" * 70_000)["code"] == "bad_json"
    # A flood: rate-limited, and the connection survives. The frames are cheap ones (each
    # answered `unknown_type` at once), so even a loaded server takes them far faster than
    # the allowance refills (60 at once, 20 a second): 300 of them must hit the limit.
    for _ in range(300):
        attendee.send({"type": "no_such_thing"})
    codes = [attendee.receive().get("code") for _ in range(300)]
    assert "rate_limited" in codes and set(codes) <= {"rate_limited", "unknown_type"}, codes
    attendee.nothing_arrives(1.5)
    assert attendee.request({"type": "unmute_self"}) == {"type": "unmuted"}


def test_U1_a_host_who_is_deactivated_or_signs_out_everywhere_leaves_the_meeting_at_once(stack):
    coordinator = sign_in_staff(stack, "coord", "coordinator")
    for how in ("deactivate", "sign_out_everywhere"):
        host = sign_in_staff(stack, f"host-{how}", "host")
        meeting_id = flows.create_meeting(host.client)
        socket = Socket(stack, host.client, meeting_id)
        flows.join(socket)
        if how == "deactivate":
            host_id = staff_row(stack, host.email)["id"]
            post_action(coordinator.client, f"/staff/people/{host_id}/deactivate/")
        else:
            post_action(host.client, "/accounts/sign-out-everywhere/")
        assert socket.expect("error")["code"] == "signed_out"
        with pytest.raises(Exception, match="4000"):
            socket.receive()
        with pytest.raises(Exception, match="403"):
            Socket(stack, host.client, meeting_id)


def test_U1_a_host_whose_staff_session_timed_out_cannot_open_the_meeting_socket(stack):
    host = sign_in_staff(stack, "idle-host", "host")
    meeting_id = flows.create_meeting(host.client)
    age_sessions(stack, host.email, "last_seen_at", dt.timedelta(minutes=31))
    with pytest.raises(Exception, match="403"):
        Socket(stack, host.client, meeting_id)
