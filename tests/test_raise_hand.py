"""Raise hand (issue 21 item 4), over the raw protocol against a live Haven and Janus.

The cast: Alex Morgan hosts; Ann, Bob and Cat are attendees let in; Wes waits. Anyone in
the meeting raises and lowers their own hand, everyone in it sees the hands in the order
raised, the host lowers anyone's; nobody waiting raises one, nobody raises another's, and
an attendee lowering someone else's is refused, audited and reaches nobody.
"""

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from haven.audit.models import AuditEvent
from haven.invitations.models import Invitation
from haven.meetings.models import Meeting as MeetingRow
from haven.policy.rules import Role
from haven.room import actions, ratelimit
from haven.room.access import Identity
from haven.room.actions import Refused
from haven.room.models import Participant
from tests.harness import database, flows
from tests.harness.flows import Socket
from tests.harness.unit import scheduled_meeting
from tests.test_hardening_fuzz import log_errors
from tests.test_in_meeting_protocol import (
    MEDIA_CONTROL,
    Meeting,
    admitted,
    arrive,
    media_session_opened,
    start_meeting,
)

RESUME = {"type": "join", "private_place_confirmed": True}


@pytest.fixture(autouse=True)
def nothing_at_error_in_havens_log(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every live test here leaves nothing at ERROR in Haven's log (never `server_error`)."""
    if "stack" not in request.fixturenames:
        yield
        return
    stack = request.getfixturevalue("stack")
    offset = stack.log.stat().st_size
    yield
    assert log_errors(stack.log, offset) == []


def raised(message: dict[str, Any]) -> list[str]:
    """Whose hands a `hands` (or `joined`/`admitted`) message says are up, in order."""
    return [hand["participant"] for hand in message["hands"]]


def next_hands(socket: Socket) -> list[str]:
    return raised(socket.expect("hands"))


def drain(*sockets: Socket) -> None:
    """Read whatever the admissions sent (rosters, waiting lists): nothing is pending."""
    for socket in sockets:
        socket.nothing_arrives(0.5)


def participant_row(stack, pid: str) -> dict[str, Any]:
    [row] = database.query(
        stack,
        "SELECT state, hand_raised_at, host_muted FROM room_participant WHERE public_id = ?",
        pid,
    )
    return row


def details(row: dict[str, Any]) -> dict[str, Any]:
    value = row["details"]
    return json.loads(value) if isinstance(value, str) else dict(value)


def media_control_since(stack, before: int) -> list[str]:
    """Requests to the media server that act on media, since `before` of them."""
    return [line for line in stack.media_requests()[before:] if line.split()[1] in MEDIA_CONTROL]


def about(stack, action: str, meeting: Meeting) -> list[dict[str, Any]]:
    return [row for row in stack.audit(action) if row["meeting_ref"] == meeting.id]


def test_S2_an_admitted_attendee_raises_and_lowers_their_hand_and_everyone_in_the_meeting_sees_it(
    stack,
):
    meeting = start_meeting(stack)
    ann, ann_pid, _ = admitted(stack, meeting, "Ann Ash")
    bob, _, _ = admitted(stack, meeting, "Bob Birch")
    wes, _, _, _ = arrive(stack, meeting, "Wes Waiting")
    drain(meeting.host, ann, bob, wes)

    ann.send({"type": "raise_hand"})
    for socket in (ann, bob, meeting.host):
        assert next_hands(socket) == [ann_pid]
    assert participant_row(stack, ann_pid)["hand_raised_at"] is not None
    ann.send({"type": "lower_hand"})
    for socket in (ann, bob, meeting.host):
        assert next_hands(socket) == []
    assert participant_row(stack, ann_pid)["hand_raised_at"] is None
    # Lowering by naming yourself is the same as naming nobody.
    ann.send({"type": "raise_hand"})
    assert next_hands(bob) == [ann_pid]
    ann.send({"type": "lower_hand", "participant": ann_pid})
    assert next_hands(bob) == []

    # The waiting room hears nothing of it (S2).
    assert wes.nothing_arrives(0.5) == []
    raised_rows = about(stack, "room.hand_raised", meeting)
    lowered_rows = about(stack, "room.hand_lowered", meeting)
    assert len(raised_rows) == 2 and len(lowered_rows) == 2
    assert all(row["actor_kind"] == "attendee" for row in raised_rows + lowered_rows)
    assert [details(row) for row in lowered_rows] == [{"own": True}, {"own": True}]
    assert [details(row) for row in raised_rows] == [{}, {}]  # no free text, nothing else


def test_hands_are_shown_in_the_order_raised_across_three_people(stack):
    meeting = start_meeting(stack)
    ann, ann_pid, _ = admitted(stack, meeting, "Ann Ash")
    bob, bob_pid, _ = admitted(stack, meeting, "Bob Birch")
    drain(meeting.host, ann, bob)

    bob.send({"type": "raise_hand"})
    assert next_hands(ann) == [bob_pid]
    meeting.host.send({"type": "raise_hand"})  # the host is in the meeting too
    assert next_hands(ann) == [bob_pid, meeting.host_pid]
    ann.send({"type": "raise_hand"})
    message = ann.expect("hands")
    assert raised(message) == [bob_pid, meeting.host_pid, ann_pid]
    times = [hand["raised_at"] for hand in message["hands"]]
    assert times == sorted(times)
    for socket in (bob, meeting.host):
        assert next_hands(socket) == [bob_pid]
        assert next_hands(socket) == [bob_pid, meeting.host_pid]
        assert next_hands(socket) == [bob_pid, meeting.host_pid, ann_pid]

    # Raising a hand already up keeps its place; only the sender is told, nobody else.
    bob.send({"type": "raise_hand"})
    assert next_hands(bob) == [bob_pid, meeting.host_pid, ann_pid]
    assert ann.nothing_arrives(0.5) == [] and meeting.host.nothing_arrives(0.1) == []
    assert len(about(stack, "room.hand_raised", meeting)) == 3
    # The first to raise lowers: the others keep their order.
    bob.send({"type": "lower_hand"})
    assert next_hands(meeting.host) == [meeting.host_pid, ann_pid]
    assert next_hands(ann) == [meeting.host_pid, ann_pid]
    meeting.host.send({"type": "lower_hand"})
    assert next_hands(ann) == [ann_pid]
    assert about(stack, "room.hand_lowered", meeting)[-1]["actor_kind"] == "staff"


def test_S2_someone_in_the_waiting_room_cannot_raise_a_hand_refused_audited_nothing_sent(stack):
    meeting = start_meeting(stack)
    ann, ann_pid, _ = admitted(stack, meeting, "Ann Ash")
    wes, wes_pid, _, _ = arrive(stack, meeting, "Wes Waiting")
    drain(meeting.host, ann, wes)
    media_session_opened(stack, ann_pid)  # what letting Ann in sends the media server
    refused_before = len(stack.audit("protocol.refused"))
    requests_before = len(stack.media_requests())

    for message in ({"type": "raise_hand"}, {"type": "lower_hand"}):
        reply = wes.request(message)
        assert reply["type"] == "error" and reply["code"] == "not_allowed", reply
        assert reply["message"] == "You can do that once the host has let you in."
    refused = stack.audit("protocol.refused")[refused_before:]
    assert [details(row)["message_type"] for row in refused] == ["raise_hand", "lower_hand"]
    assert all(row["actor_kind"] == "attendee" for row in refused)
    assert participant_row(stack, wes_pid)["hand_raised_at"] is None
    assert not about(stack, "room.hand_raised", meeting)
    # Nobody hears of it, and nothing reaches the media server.
    assert meeting.host.nothing_arrives(0.5) == [] and ann.nothing_arrives(0.1) == []
    assert media_control_since(stack, requests_before) == []
    # Let in, the same person may.
    meeting.host.send({"type": "admit", "participant": wes_pid})
    assert wes.expect("admitted")["hands"] == []
    wes.send({"type": "raise_hand"})
    assert next_hands(meeting.host) == [wes_pid]

    # Someone who has not joined at all is told to join first.
    invited = flows.invite(stack, meeting.host_client, meeting.id, "Nia New")
    fresh = Socket(stack, flows.enter_passcode(stack, invited), meeting.id)
    flows.greet(fresh)
    assert fresh.request({"type": "raise_hand"})["code"] == "not_joined"


def test_nobody_raises_another_persons_hand_and_an_attendee_cannot_lower_one(stack):
    meeting = start_meeting(stack)
    ann, ann_pid, _ = admitted(stack, meeting, "Ann Ash")
    bob, bob_pid, _ = admitted(stack, meeting, "Bob Birch")
    drain(meeting.host, ann, bob)
    ann.send({"type": "raise_hand"})
    for socket in (ann, bob, meeting.host):
        assert next_hands(socket) == [ann_pid]
    refused_before = len(stack.audit("protocol.refused"))

    # raise_hand names nobody: a `participant` is not part of it.
    for who in (ann_pid, bob_pid, meeting.host_pid, None):
        reply = bob.request({"type": "raise_hand", "participant": who})
        assert reply["code"] == "bad_message", reply
    # Bob lowering Ann's hand, or the host's, or someone unknown: refused before any
    # lookup (the same answer for all), audited, and nobody hears of it.
    for who in (ann_pid, meeting.host_pid, "p_00"):
        reply = bob.request({"type": "lower_hand", "participant": who})
        assert reply["code"] == "not_allowed", reply
        assert reply["message"] == "Only the host can do that."
    refused = stack.audit("protocol.refused")[refused_before:]
    assert [details(row)["message_type"] for row in refused] == ["lower_hand"] * 3
    assert ann.nothing_arrives(0.5) == [] and meeting.host.nothing_arrives(0.1) == []
    assert participant_row(stack, ann_pid)["hand_raised_at"] is not None
    assert participant_row(stack, bob_pid)["hand_raised_at"] is None
    assert not [row for row in about(stack, "room.hand_lowered", meeting)]
    # Ann's hand is still up, as a latecomer sees.
    late, _, _ = admitted(stack, meeting, "Lia Late")
    assert raised(late.received[-1]) == [ann_pid]


def test_the_host_lowers_someones_hand_and_everyone_sees_it(stack):
    meeting = start_meeting(stack)
    ann, ann_pid, _ = admitted(stack, meeting, "Ann Ash")
    bob, bob_pid, _ = admitted(stack, meeting, "Bob Birch")
    drain(meeting.host, ann, bob)
    ann.send({"type": "raise_hand"})
    bob.send({"type": "raise_hand"})
    for socket in (ann, bob, meeting.host):
        assert next_hands(socket) == [ann_pid]
        assert next_hands(socket) == [ann_pid, bob_pid]

    meeting.host.send({"type": "lower_hand", "participant": ann_pid})
    for socket in (ann, bob, meeting.host):
        assert next_hands(socket) == [bob_pid]
    row = about(stack, "room.hand_lowered", meeting)[-1]
    assert row["actor_kind"] == "staff" and details(row) == {"own": False}
    # Someone whose hand is down: nothing changes, only the host is told how it is.
    meeting.host.send({"type": "lower_hand", "participant": ann_pid})
    assert next_hands(meeting.host) == [bob_pid]
    assert ann.nothing_arrives(0.5) == [] and bob.nothing_arrives(0.1) == []
    assert len(about(stack, "room.hand_lowered", meeting)) == 1
    # Someone not in the meeting.
    reply = meeting.host.request({"type": "lower_hand", "participant": "p_00"})
    assert reply["code"] == "not_found"
    wes, wes_pid, _, _ = arrive(stack, meeting, "Wes Waiting")
    assert meeting.host.request({"type": "lower_hand", "participant": wes_pid})["code"] == (
        "not_found"
    )
    assert wes.nothing_arrives(0.3) == []


def test_a_hand_goes_down_when_its_person_leaves_is_removed_or_disconnects(stack):
    meeting = start_meeting(stack)
    ann, ann_pid, _ = admitted(stack, meeting, "Ann Ash")
    bob, bob_pid, _ = admitted(stack, meeting, "Bob Birch")
    cat, cat_pid, _ = admitted(stack, meeting, "Cat Cedar")
    drain(meeting.host, ann, bob, cat)
    for socket in (ann, bob, cat):
        socket.send({"type": "raise_hand"})
    for _ in range(3):
        hands = next_hands(meeting.host)
    assert hands == [ann_pid, bob_pid, cat_pid]

    ann.send({"type": "leave"})
    names = {p["participant"] for p in meeting.host.expect("roster")["roster"]}
    assert ann_pid not in names  # the roster first, then the hands
    assert next_hands(meeting.host) == [bob_pid, cat_pid]

    meeting.host.send({"type": "remove", "participant": bob_pid, "reason": "Testing hands."})
    assert next_hands(meeting.host) == [cat_pid]
    assert participant_row(stack, bob_pid)["hand_raised_at"] is None

    cat.close()  # the browser went away without a word
    assert next_hands(meeting.host) == []
    for pid in (ann_pid, cat_pid):
        row = participant_row(stack, pid)
        assert row["state"] == "left" and row["hand_raised_at"] is None
    # Leaving is audited as leaving, not as someone lowering a hand.
    assert not about(stack, "room.hand_lowered", meeting)


def test_a_latecomer_sees_the_hands_already_up_and_a_hand_survives_a_resume(stack):
    meeting = start_meeting(stack)
    ann, ann_pid, _ = admitted(stack, meeting, "Ann Ash")
    drain(meeting.host, ann)
    ann.send({"type": "raise_hand"})
    assert next_hands(meeting.host) == [ann_pid]
    meeting.host.send({"type": "raise_hand"})
    assert next_hands(ann) == [ann_pid]
    assert next_hands(ann) == [ann_pid, meeting.host_pid]

    # Let in after the hands went up: `admitted` carries them, in order.
    lia, lia_pid, waiting, invited = arrive(stack, meeting, "Lia Late")
    meeting.host.send({"type": "admit", "participant": lia_pid})
    assert raised(lia.expect("admitted")) == [ann_pid, meeting.host_pid]
    # The host's second tab: `joined` carries them too.
    again = Socket(stack, meeting.host_client, meeting.id)
    assert raised(flows.join(again)) == [ann_pid, meeting.host_pid]

    # Lia raises, and her connection is replaced (a reload, another server): her hand
    # stays up, in its place.
    lia.send({"type": "raise_hand"})
    assert next_hands(ann) == [ann_pid, meeting.host_pid, lia_pid]
    resumed = Socket(stack, flows.enter_passcode(stack, invited), meeting.id)
    flows.greet(resumed)
    back = resumed.request({**RESUME, "resume": waiting["resume"]})
    assert back["type"] == "admitted" and back["you"] == lia_pid
    assert raised(back) == [ann_pid, meeting.host_pid, lia_pid]
    assert ann.nothing_arrives(0.5) == []  # nobody saw her hand go down and up
    resumed.send({"type": "lower_hand"})
    assert next_hands(ann) == [ann_pid, meeting.host_pid]


def test_V3_raising_a_hand_unmutes_nobody_and_nothing_reaches_the_media_server(stack):
    meeting = start_meeting(stack)
    ann, ann_pid, _ = admitted(stack, meeting, "Ann Ash")
    drain(meeting.host, ann)
    media_session_opened(stack, ann_pid)
    meeting.host.send({"type": "mute", "participant": ann_pid})
    assert ann.expect("muted_by_host") == {"type": "muted_by_host"}
    requests_before = len(stack.media_requests())

    ann.send({"type": "raise_hand"})
    assert next_hands(meeting.host) == [ann_pid]
    meeting.host.send({"type": "lower_hand", "participant": ann_pid})
    assert next_hands(ann) == [ann_pid]
    assert next_hands(ann) == []
    ann.send({"type": "raise_hand"})
    assert next_hands(ann) == [ann_pid]
    assert ann.nothing_arrives(0.5) == []  # no `unmuted`, no request to act
    assert participant_row(stack, ann_pid)["host_muted"] in (1, True)
    assert media_control_since(stack, requests_before) == []  # no unmute went to Janus
    assert not about(stack, "room.unmuted_self", meeting)


def test_malformed_hand_frames_get_stable_codes_and_the_connection_survives(stack):
    meeting = start_meeting(stack)
    ann, ann_pid, _ = admitted(stack, meeting, "Ann Ash")
    drain(meeting.host, ann)
    bad = [
        ({"type": "raise_hand", "hand": "up"}, "bad_message"),
        ('{"type": "raise_hand", "id": [1]}', "bad_message"),  # an id never echoed
        ('{"type": "raise_hand", "id": 1099511627776}', "bad_message"),
        ({"type": "lower_hand", "participant": "Ann Ash"}, "bad_message"),
        ({"type": "lower_hand", "participant": 5}, "bad_message"),
        ({"type": "lower_hand", "participant": ["p_00"]}, "bad_message"),
        ({"type": "lower_hand", "participant": "p_" + "f" * 60}, "bad_message"),
        ({"type": "lower_hand", "to": "p_00"}, "bad_message"),
        ({"type": "raise_hands"}, "unknown_type"),
        ({"type": "RAISE_HAND"}, "unknown_type"),
        ({"type": ["raise_hand"]}, "unknown_type"),
        ('{"type": "raise_hand"', "bad_json"),
        ('["raise_hand"]', "bad_json"),
        ('{"type": "raise_hand", "x": ' + "[" * 20 + "]" * 20 + "}", "bad_json"),
    ]
    for frame, code in bad:
        reply = ann.request(frame)
        assert reply["type"] == "error" and reply["code"] == code, (frame, reply)
    assert meeting.host.nothing_arrives(0.5) == []
    assert participant_row(stack, ann_pid)["hand_raised_at"] is None
    ann.send({"type": "raise_hand"})
    assert next_hands(meeting.host) == [ann_pid]


def test_hardening_rate_limits_hands_are_limited_per_person_and_reconnecting_gives_no_more(
    stack,
):
    meeting = start_meeting(stack)
    socket, pid, waiting, invited = arrive(stack, meeting, "Rae Rapid")
    meeting.host.send({"type": "admit", "participant": pid})
    socket.expect("admitted")
    drain(meeting.host, socket)
    sent = 2 * ratelimit.HANDS.burst + 4
    for n in range(sent):
        socket.send({"type": "raise_hand" if n % 2 == 0 else "lower_hand", "id": n})
    flooded = time.monotonic()
    replies = socket.nothing_arrives(1.0)
    limited = [m for m in replies if m["type"] == "error"]
    assert {m["code"] for m in limited} == {"rate_limited"}, limited
    assert len(limited) >= sent - ratelimit.HANDS.burst - 3, replies
    assert len([m for m in replies if m["type"] == "hands"]) <= ratelimit.HANDS.burst + 3
    # Everyone else got no more than the allowance let through.
    assert len(meeting.host.nothing_arrives(0.2)) <= ratelimit.HANDS.burst + 3
    # A new connection, the same place: the allowance is the person's, not the socket's.
    again = Socket(stack, flows.enter_passcode(stack, invited), meeting.id)
    flows.greet(again)
    assert again.request({**RESUME, "resume": waiting["resume"]})["type"] == "admitted"
    refill = int(time.monotonic() - flooded) + 1  # one token a second came back meanwhile
    for n in range(refill + 2):
        again.send({"type": "raise_hand" if n % 2 == 0 else "lower_hand", "id": f"r{n}"})
    codes = [m.get("code") for m in again.nothing_arrives(1.0) if m["type"] == "error"]
    assert "rate_limited" in codes, codes


@pytest.mark.django_db
def test_V3_S2_the_hand_actions_change_the_hand_and_nothing_else_unit():
    """The actions on Django's test database: order, refusals, leaving; no unmute (V3)."""
    meeting = scheduled_meeting()
    MeetingRow.objects.filter(pk=meeting.pk).update(state=MeetingRow.State.LIVE)
    admitted_state, waiting_state = Participant.State.ADMITTED, Participant.State.WAITING
    host = Participant.objects.create(
        public_id="p_a0", meeting=meeting, user=meeting.host, name="Alex", state=admitted_state
    )
    host_identity = Identity(meeting, Role.HOST, "Alex Morgan", user=meeting.host)
    people = {}
    for pid, name, state in (
        ("p_5a", "Sam Carter", admitted_state),
        ("p_10", "Jo Smith", admitted_state),
        ("p_3e", "Wes Waiting", waiting_state),
    ):
        invitation = Invitation.objects.create(
            meeting=meeting,
            name=name,
            email=f"{pid}@example.org",
            role="parent_carer",
            expires_at=meeting.starts_at + dt.timedelta(days=1),
            invited_by=meeting.host,
        )
        row = Participant.objects.create(
            public_id=pid, meeting=meeting, invitation=invitation, name=name, state=state
        )
        people[pid] = (row, Identity(meeting, Role.ATTENDEE, name, invitation=invitation))
    (sam, sam_id), (jo, jo_id), (wes, wes_id) = people.values()
    sam.host_muted = True
    sam.save(update_fields=["host_muted"])

    def order() -> list[str]:
        return [hand.participant for hand in actions.hands(MeetingRow.objects.get(pk=meeting.pk))]

    actions.do_raise_hand(sam, sam_id.actor)
    actions.do_raise_hand(host, host_identity.actor)
    actions.do_raise_hand(jo, jo_id.actor)
    actions.do_raise_hand(sam, sam_id.actor)  # already up: keeps its place
    assert order() == ["p_5a", "p_a0", "p_10"]
    for refused in (
        lambda: actions.do_raise_hand(wes, wes_id.actor),
        lambda: actions.do_lower_hand(wes, wes_id, None),
        lambda: actions.do_lower_hand(jo, jo_id, "p_5a"),
        lambda: actions.do_lower_hand(jo, jo_id, "p_a0"),
    ):
        with pytest.raises(Refused) as caught:
            refused()
        assert caught.value.decision.code == "not_allowed"
    with pytest.raises(Refused) as caught:
        actions.do_lower_hand(host, host_identity, "p_3e")  # waiting: not in the meeting
    assert caught.value.decision.code == "not_found"
    assert order() == ["p_5a", "p_a0", "p_10"]

    actions.do_lower_hand(host, host_identity, "p_5a")
    assert order() == ["p_a0", "p_10"]
    actions.do_lower_hand(host, host_identity, None)
    assert order() == ["p_10"]
    actions.do_leave(jo, jo_id.actor)
    assert order() == []
    sam.refresh_from_db()
    assert sam.host_muted is True  # a hand, raised or lowered by anyone, unmutes nobody
    lowered = AuditEvent.objects.filter(action="room.hand_lowered").order_by("id")
    assert [event.details for event in lowered] == [{"own": False}, {"own": True}]
    assert AuditEvent.objects.filter(action="room.hand_raised").count() == 3
