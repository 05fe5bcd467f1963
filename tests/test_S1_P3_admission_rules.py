"""Who "Let everyone in" lets in, and the meeting type's settings made real.

S1: a second device on a link already in use is let in only one by one, on purpose:
`admit_all` leaves it waiting and tells the host. P3: `max_attendees` caps admissions
(`admit`, `admit_all`) and invitations; `attendees_start_muted` has attendees of such a
meeting type join with their microphone off, told so, and only they turn it on (V3): held
on the media server too, in tests/test_P3_V1_V3_meeting_types.py.
"""

import datetime as dt
import json
import secrets
from typing import Any

import pytest
from playwright.sync_api import expect

from haven.audit.models import AuditEvent
from haven.invitations.models import Invitation
from haven.meetings.models import Meeting as MeetingRow
from haven.policy.models import MeetingType
from haven.policy.rules import Role
from haven.room import actions
from haven.room.access import Identity
from haven.room.models import Participant
from tests.harness import database, flows, ui
from tests.harness.browser import chromium
from tests.harness.flows import Socket
from tests.harness.staff import post_action
from tests.harness.unit import scheduled_meeting
from tests.test_in_meeting_protocol import Meeting, admitted, arrive, start_meeting
from tests.test_S8_access_rechecked_on_join import assert_nothing_logged_at_error

# In-process: the actions, against Django's test database


class Room:
    """A live meeting in the test database, with its host in it."""

    def __init__(self, kind: str = "one_to_one") -> None:
        meeting = scheduled_meeting()
        kind_row = MeetingType.objects.get(policy=meeting.policy, key=kind)
        MeetingRow.objects.filter(pk=meeting.pk).update(
            state=MeetingRow.State.LIVE, meeting_type=kind_row
        )
        meeting.refresh_from_db()
        self.meeting = meeting
        self.host = self._presence(user=meeting.host, name="Alex Morgan", state="admitted")
        self.identity = Identity(meeting, Role.HOST, "Alex Morgan", user=meeting.host)

    def invitation(self, name: str) -> Invitation:
        return Invitation.objects.create(
            meeting=self.meeting,
            name=name,
            email=f"{secrets.token_hex(4)}@example.org",
            role="parent_carer",
            expires_at=self.meeting.starts_at + dt.timedelta(days=1),
            invited_by=self.meeting.host,
        )

    def person(self, name: str, state: str = "waiting", **flags: Any) -> Participant:
        """Someone in the meeting or its waiting room, through an invitation of their own
        (or `invitation=`: a second device on one already in use)."""
        invitation = flags.pop("invitation", None) or self.invitation(name)
        return self._presence(invitation=invitation, name=name, state=state, **flags)

    def _presence(self, **fields: Any) -> Participant:
        return Participant.objects.create(
            public_id=f"p_{secrets.token_hex(6)}",
            meeting=self.meeting,
            channel_name=f"c_{secrets.token_hex(6)}",
            **fields,
        )

    def state_of(self, participant: Participant) -> str:
        participant.refresh_from_db()
        return participant.state


@pytest.mark.django_db
def test_S1_admit_all_leaves_a_second_device_waiting_and_names_it_to_the_host():
    room = Room()
    first = room.person("Dee Double", state="admitted")
    second = room.person("Dee Double", invitation=first.invitation, second_device=True)
    other = room.person("Fay First")
    answer = actions.do_admit_all(room.host, room.identity)
    assert answer.admitted == 1
    assert [(h.participant, h.because) for h in answer.held_back] == [
        (second.public_id, "second_device")
    ]
    assert room.state_of(other) == "admitted" and room.state_of(second) == "waiting"
    held = AuditEvent.objects.get(action="room.admit_all_held_back")
    assert held.details == {"admitted": 1, "second_device": 1, "meeting_full": 0}
    # The host can still let the second device in, one by one, on purpose.
    actions.do_admit(room.host, room.identity, second.public_id)
    assert room.state_of(second) == "admitted"
    let_in = AuditEvent.objects.filter(action="room.admitted").order_by("id")
    assert [row.details["second_device"] for row in let_in] == [False, True]


@pytest.mark.django_db
def test_P3_admit_and_admit_all_stop_at_the_meeting_types_cap():
    room = Room()  # a one-to-one meeting: at most 4 attendees
    assert room.meeting.meeting_type.max_attendees == 4
    for name in ("Ann", "Bob", "Cat"):
        room.person(name, state="admitted")
    dan, eve, fin = room.person("Dan"), room.person("Eve"), room.person("Fin")
    answer = actions.do_admit_all(room.host, room.identity)
    assert answer.admitted == 1
    assert [(h.name, h.because) for h in answer.held_back] == [
        ("Eve", "meeting_full"),
        ("Fin", "meeting_full"),
    ]
    assert [room.state_of(p) for p in (dan, eve, fin)] == ["admitted", "waiting", "waiting"]
    with pytest.raises(actions.Refused) as refused:
        actions.do_admit(room.host, room.identity, eve.public_id)
    assert refused.value.decision.code == "meeting_full"
    assert "at most 4 attendees" in refused.value.decision.message
    assert room.state_of(eve) == "waiting"
    # Someone leaves: there is room for one more.
    Participant.objects.filter(pk=dan.pk).update(state="left")
    actions.do_admit(room.host, room.identity, eve.public_id)
    assert room.state_of(eve) == "admitted"


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "muted"), [("training", True), ("one_to_one", False)])
def test_P3_only_a_meeting_type_that_starts_attendees_muted_lets_them_in_muted(kind, muted):
    room = Room(kind)
    sam = room.person("Sam")
    actions.do_admit(room.host, room.identity, sam.public_id)
    row = AuditEvent.objects.filter(action="room.admitted").latest("id")
    assert row.details["muted_on_entry"] is muted
    sam.refresh_from_db()
    assert sam.host_muted is False  # not the host's mute: only a start with it off (V3)


# Live: over the protocol, against a running Haven and Janus


def test_S1_admit_all_over_the_protocol_holds_a_second_device_back_and_says_who(stack):
    meeting = start_meeting(stack)
    _first, _pid, invited = admitted(stack, meeting, "Dee Double")
    second = Socket(stack, flows.enter_passcode(stack, invited), meeting.id)
    flows.join(second)
    second_pid = meeting.waiting("Dee Double")[0]["participant"]
    fay, fay_pid, _, _ = arrive(stack, meeting, "Fay First")
    logged = stack.log.stat().st_size
    answer = meeting.host.request({"type": "admit_all"})
    assert answer == {
        "type": "admitted_all",
        "admitted": 1,
        "held_back": [
            {"participant": second_pid, "name": "Dee Double", "because": "second_device"}
        ],
    }
    assert fay.expect("admitted")["you"] == fay_pid
    assert second.nothing_arrives(0.5) == []  # still waiting: nothing of the meeting
    waiting = meeting.waiting()
    while [p["participant"] for p in waiting] != [second_pid]:
        waiting = meeting.waiting()
    # One by one, on purpose, the host can still let them in.
    meeting.host.send({"type": "admit", "participant": second_pid})
    assert second.expect("admitted")["you"] == second_pid
    assert_nothing_logged_at_error(stack, logged)


def test_P3_admitting_past_the_cap_is_refused_with_a_clear_message(stack):
    meeting = start_meeting(stack)  # one-to-one: at most 4 attendees
    people = [admitted(stack, meeting, name) for name in ("Ann Ash", "Bob Birch", "Cat Cedar")]
    people.append(admitted(stack, meeting, "Dan Dale"))
    _, _, dans = people[-1]
    extra = Socket(stack, flows.enter_passcode(stack, dans), meeting.id)
    flows.join(extra)
    extra_pid = meeting.waiting("Dan Dale")[0]["participant"]
    logged = stack.log.stat().st_size
    refused = meeting.host.request({"type": "admit", "participant": extra_pid})
    assert refused["type"] == "error" and refused["code"] == "meeting_full", refused
    assert refused["message"] == (
        "The meeting is full: this type of meeting (One-to-one meeting) takes at most 4 "
        "attendees besides the host. Someone must leave before you let anyone else in."
    )
    assert extra.nothing_arrives(0.5) == []
    # Once someone leaves, there is room again.
    ann = people[0][0]
    ann.send({"type": "leave"})
    ann.expect("left")
    meeting.host.send({"type": "admit", "participant": extra_pid})
    assert extra.expect("admitted")["you"] == extra_pid
    assert_nothing_logged_at_error(stack, logged)


def test_P3_the_invite_form_refuses_past_the_cap_with_a_clear_message(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)  # one-to-one: at most 4 attendees
    for n in range(4):
        sent = flows.send_invitation(
            host, meeting_id, name=f"Person {n}", email=flows.unique_email("cap")
        )
        assert sent.status_code == 302, sent.text
    email = flows.unique_email("cap")
    refused = flows.send_invitation(host, meeting_id, name="Person 5", email=email)
    assert refused.status_code == 400
    assert (
        "This meeting is full: this type of meeting (One-to-one meeting) takes at most 4 "
        "attendees, and 4 are invited already. Cancel an invitation to invite someone else."
    ) in refused.text.replace("\n", " ")
    assert (
        database.query(stack, "SELECT id FROM invitations_invitation WHERE email = ?", email) == []
    )
    # A cancelled invitation frees its place.
    first = database.query(
        stack,
        "SELECT i.id FROM invitations_invitation i JOIN meetings_meeting m "
        "ON i.meeting_id = m.id WHERE i.name = 'Person 0' ORDER BY i.id DESC LIMIT 1",
    )[0]["id"]
    post_action(host, f"/meetings/{meeting_id}/invitations/{first}/cancel/")
    again = flows.send_invitation(host, meeting_id, name="Person 5", email=email)
    assert again.status_code == 302, again.text


def _training_meeting(stack) -> Meeting:
    host_client, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host_client, "Training", kind="training")
    host = Socket(stack, host_client, meeting_id)
    return Meeting(meeting_id, host_client, host, flows.join(host)["you"])


def test_P3_V3_attendees_of_a_training_session_are_let_in_muted_and_only_they_unmute(stack):
    meeting = _training_meeting(stack)
    sam, sam_pid, _, _ = arrive(stack, meeting, "Sam Carter")
    meeting.host.send({"type": "admit", "participant": sam_pid})
    let_in = sam.expect("admitted")
    assert let_in["muted_on_entry"] is True
    # Not the host's mute: the meeting type's start, which only Sam lifts (V3).
    rows = database.query(
        stack,
        "SELECT host_muted, muted_on_entry FROM room_participant WHERE public_id = ?",
        sam_pid,
    )
    assert not rows[0]["host_muted"] and rows[0]["muted_on_entry"]
    rows = [r for r in stack.audit("room.admitted") if r["meeting_id"] is not None][-1:]
    assert json.loads(rows[0]["details"])["muted_on_entry"] is True
    # The host's own entry is not muted, and a one-to-one meeting lets people in unmuted.
    other = start_meeting(stack)
    kim = admitted(stack, other, "Kim Lee")[0]
    assert "muted_on_entry" not in next(m for m in kim.received if m["type"] == "admitted")


def test_S1_the_host_page_says_whom_let_everyone_in_left_waiting(stack):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        sam = ui.attendee_waits(browser, stack, meeting, "Sam Carter")
        ui.let_in(host, sam)
        phone = ui.second_device(browser, stack, meeting, sam)
        jo = ui.attendee_waits(browser, stack, meeting, "Jo Smith")
        expect(host.locator("#waiting-panel-heading")).to_have_text("Waiting room (2)")
        host.locator("#admit-all").click()
        ui.wait_for_state(jo.page, "in_meeting")
        expect(host.locator("#waiting-held-note")).to_have_text(
            "Still waiting: Sam Carter, on a second device with a link already in use. "
            "Let them in one by one if you mean to."
        )
        expect(host.locator("#waiting-panel-heading")).to_have_text("Waiting room (1)")
        assert ui.haven(phone, "state") == "waiting"
        ui.assert_accessible(host, "the host's page saying who is still waiting")
