"""Which places are held after a connection closes without `leave`, and for whom: the
actions themselves, against Django's test database (fast; the live socket and the
browser are in tests/test_reload_and_come_back.py and tests/test_reload_browser.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from haven.audit.log import Actor
from haven.audit.models import AuditEvent
from haven.invitations.models import Invitation
from haven.meetings.models import Meeting as MeetingRow
from haven.policy.rules import Role
from haven.room import actions
from haven.room.access import Identity
from haven.room.models import Participant
from haven.room.presence import gone_after
from tests.test_S8_access_rechecked_on_join import _invited

pytestmark = pytest.mark.django_db


class Room:
    """A live meeting with its host in it."""

    def __init__(self, meeting: MeetingRow) -> None:
        self.meeting = meeting
        self.host_identity = Identity(meeting, Role.HOST, "Alex Morgan", user=meeting.host)
        self.host = actions.do_join(self.host_identity, "c-host", True).participant

    def let_in(self, name: str) -> tuple[Identity, actions.Entry]:
        invitation = _invited(self.meeting, name)
        identity = attendee(invitation)
        entry = actions.do_join(identity, f"c-{name}", True)
        actions.do_admit(self.host, self.host_identity, entry.participant.public_id)
        return identity, entry


def attendee(invitation: Invitation) -> Identity:
    return Identity(invitation.meeting, Role.ATTENDEE, invitation.name, invitation=invitation)


@pytest.fixture
def room(live_meeting) -> Room:
    return Room(live_meeting)


@pytest.fixture
def live_meeting(db):
    from tests.harness.unit import scheduled_meeting

    meeting = scheduled_meeting()
    MeetingRow.objects.filter(pk=meeting.pk).update(state=MeetingRow.State.LIVE)
    meeting.refresh_from_db()
    return meeting


def closed(identity: Identity, entry: actions.Entry) -> None:
    """The socket closed without `leave` (the consumer's disconnect)."""
    participant = entry.participant
    actions.do_leave(
        participant,
        identity.actor,
        actions.LeftBecause.DISCONNECTED,
        channel_name=participant.channel_name,
        keep_place=True,
    )


def declined(identity: Identity, secret: str) -> str:
    with pytest.raises(actions.ResumeDeclined) as refused:
        actions.do_join(identity, "c-again", False, resume=secret)
    assert refused.value.decision.code == "confirmation_required"
    return refused.value.because


def test_S2_a_place_closed_without_leave_is_taken_back_in_the_meeting(room):
    identity, entry = room.let_in("Sam Carter")
    closed(identity, entry)
    back = actions.do_join(identity, "c-again", False, resume=entry.resume)
    assert back.resumed and back.participant.pk == entry.participant.pk
    row = Participant.objects.get(pk=entry.participant.pk)
    assert (row.state, row.left_because, row.left_at, row.channel_name) == (
        "admitted",
        "",
        None,
        "c-again",
    )
    assert AuditEvent.objects.filter(action="room.admitted").count() == 1
    resumed = AuditEvent.objects.get(action="room.resumed")
    assert resumed.details == {"state": "admitted", "after_close": True}
    # No confirmation row for the return: it was given on entering (S9).
    assert AuditEvent.objects.filter(action="room.confirmed_private_place").count() == 2


def test_S1_a_secret_works_only_for_its_own_person(room):
    identity, entry = room.let_in("Sam Carter")
    closed(identity, entry)
    kim = attendee(_invited(room.meeting, "Kim Lee"))
    assert declined(kim, entry.resume) == "not_held"
    someone = actions.do_join(kim, "c-kim", True, resume=entry.resume)
    assert not someone.resumed and someone.participant.state == "waiting"
    assert not someone.participant.second_device
    # Sam's link on another device, with no secret: held and flagged (S1).
    device = actions.do_join(attendee(identity.invitation), "c-device", True)
    assert not device.resumed and device.participant.second_device
    assert actions.do_join(identity, "c-again", False, resume=entry.resume).resumed


def test_S2_the_place_is_held_only_for_HAVEN_SERVER_GONE_SECONDS(room):
    identity, entry = room.let_in("Sam Carter")
    closed(identity, entry)
    long_ago = timezone.now() - gone_after() - dt.timedelta(seconds=1)
    Participant.objects.filter(pk=entry.participant.pk).update(left_at=long_ago)
    assert declined(identity, entry.resume) == "expired"
    again = actions.do_join(identity, "c-again", True, resume=entry.resume)
    assert not again.resumed and not again.participant.second_device
    reasons = AuditEvent.objects.filter(action="room.resume_declined")
    assert [row.details for row in reasons.order_by("id")] == [
        {"because": "expired"},
        {"because": "expired"},
    ]


def test_S2_leave_and_a_let_go_end_the_place_and_spend_the_secret(room):
    identity, entry = room.let_in("Sam Carter")
    actions.do_leave(entry.participant, identity.actor)
    assert Participant.objects.get(pk=entry.participant.pk).resume_hash == ""
    assert declined(identity, entry.resume) == "not_held"
    kim, kim_entry = room.let_in("Kim Lee")
    # Let go after a Haven process stopped (or a 1013 place not resumed): for good too.
    actions.do_leave(kim_entry.participant, Actor.system(), actions.LeftBecause.DISCONNECTED)
    assert declined(kim, kim_entry.resume) == "not_held"


def test_S3_locking_gives_up_the_places_of_people_away_but_not_of_people_waiting(room):
    identity, entry = room.let_in("Sam Carter")
    wes_invitation = _invited(room.meeting, "Wes Waiting")
    wes = attendee(wes_invitation)
    wes_entry = actions.do_join(wes, "c-wes", True)
    closed(identity, entry)
    closed(wes, wes_entry)
    actions.do_set_lock(room.host, room.host_identity, True)
    assert declined(identity, entry.resume) == "not_held"
    (given_up,) = AuditEvent.objects.filter(action="room.place_given_up")
    assert given_up.invitation_id == identity.invitation.pk
    # Someone waiting who reloads is still waiting: back in the queue, not let in.
    back = actions.do_join(wes, "c-wes-again", False, resume=wes_entry.resume)
    assert back.resumed and back.participant.state == "waiting"


def test_P3_no_return_past_the_meeting_types_cap(room):
    cap = room.meeting.meeting_type.max_attendees
    identity, entry = room.let_in("Sam Carter")
    closed(identity, entry)
    for number in range(cap):
        room.let_in(f"Filler{number} Person")
    assert declined(identity, entry.resume) == "meeting_full"


def test_S9_a_join_with_no_secret_still_needs_the_confirmation(room):
    invitation = _invited(room.meeting, "Sam Carter")
    with pytest.raises(actions.Refused) as refused:
        actions.do_join(attendee(invitation), "c", False)
    assert refused.value.decision.code == "confirmation_required"
    assert not Participant.objects.filter(invitation=invitation).exists()
