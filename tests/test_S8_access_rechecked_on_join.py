"""Rule S8 (and S1): who may enter is read again on every `join`, a resumed one too.

Identity is checked when the meeting socket opens; a socket opened before a removal, a
ban or a revoked link lives on. Its `join` is refused with `access_withdrawn`, the socket
is closed (4403), the refusal is audited, and the person reaches nothing: not the waiting
room, not the host's waiting list.
"""

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from haven.accounts.models import RoleGrant
from haven.audit.models import AuditEvent
from haven.bans.models import Ban, Removal
from haven.consent.actions import Answers, do_give_consent
from haven.consent.models import ConsentRequest
from haven.invitations.actions import do_invite
from haven.invitations.models import Invitation
from haven.meetings.models import Meeting as MeetingRow
from haven.policy.rules import Role
from haven.room import actions
from haven.room.access import Identity
from haven.room.models import Participant
from tests.harness import database, flows
from tests.harness.flows import Socket
from tests.harness.staff import post_action
from tests.harness.unit import scheduled_meeting
from tests.test_in_meeting_protocol import Meeting, admitted, start_meeting

# In-process: the action itself, against Django's test database


def _invited(meeting: MeetingRow, name: str = "Sam Carter") -> Invitation:
    """Invited, and consented to the house rules: entitled to come in."""
    email = f"{name.split()[0].lower()}@example.org"
    invitation = do_invite(meeting.host, meeting, name=name, email=email, role="parent_carer")
    request = ConsentRequest.objects.get(invitation=invitation)
    do_give_consent(request.pk, 1, Answers())
    invitation.refresh_from_db()
    return invitation


def _attendee(invitation: Invitation) -> Identity:
    return Identity(invitation.meeting, Role.ATTENDEE, invitation.name, invitation=invitation)


def _withdraw(how: str, invitation: Invitation) -> None:
    meeting, host = invitation.meeting, invitation.meeting.host
    if how == "removed":
        Removal.objects.create(meeting=meeting, email=invitation.email, reason="x", removed_by=host)
    elif how == "banned":
        Ban.objects.create(
            organisation=meeting.organisation,
            email=invitation.email,
            reason="x",
            banned_by=host,
            review_on=timezone.localdate() + dt.timedelta(days=183),
        )
    elif how == "revoked":
        Invitation.objects.filter(pk=invitation.pk).update(revoked_at=timezone.now())
    elif how == "expired":
        past = timezone.now() - dt.timedelta(minutes=1)
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=past)
    elif how == "consent_voided":
        invitation.consents.update(voided_at=timezone.now())


WITHDRAWN = {
    "removed": "removed_or_banned",
    "banned": "removed_or_banned",
    "revoked": "revoked",
    "expired": "expired",
    "consent_voided": "consent",
}


@pytest.fixture
def live_meeting(db):
    meeting = scheduled_meeting()
    MeetingRow.objects.filter(pk=meeting.pk).update(state=MeetingRow.State.LIVE)
    meeting.refresh_from_db()
    return meeting


@pytest.mark.parametrize("how", sorted(WITHDRAWN))
def test_S8_join_is_refused_once_entitlement_is_withdrawn_and_the_refusal_is_audited(
    live_meeting, how
):
    invitation = _invited(live_meeting)
    identity = _attendee(invitation)  # as the socket knew them when it opened
    _withdraw(how, invitation)
    with pytest.raises(actions.Refused) as refused:
        actions.do_join(identity, "channel-old", True)
    assert refused.value.decision.code == "access_withdrawn"
    assert not Participant.objects.filter(invitation=invitation).exists()
    (row,) = AuditEvent.objects.filter(action="room.access_withdrawn")
    assert row.details == {"because": WITHDRAWN[how], "resumed": False}
    assert row.invitation_id == invitation.pk and row.meeting_id == live_meeting.pk


def test_S8_a_resume_is_refused_too_and_does_not_take_the_place_over(live_meeting):
    invitation = _invited(live_meeting)
    identity = _attendee(invitation)
    entry = actions.do_join(identity, "channel-first", True)
    Invitation.objects.filter(pk=invitation.pk).update(revoked_at=timezone.now())
    with pytest.raises(actions.Refused) as refused:
        actions.do_join(identity, "channel-second", True, resume=entry.resume)
    assert refused.value.decision.code == "access_withdrawn"
    entry.participant.refresh_from_db()
    assert entry.participant.channel_name == "channel-first"  # not moved to the new socket
    row = AuditEvent.objects.get(action="room.access_withdrawn")
    assert row.details == {"because": "revoked", "resumed": True}


def test_U1_S8_a_host_whose_host_role_was_taken_away_cannot_join_on_an_old_socket(live_meeting):
    host = live_meeting.host
    identity = Identity(live_meeting, Role.HOST, host.full_name, user=host)
    RoleGrant.objects.filter(user=host).delete()
    with pytest.raises(actions.Refused) as refused:
        actions.do_join(identity, "channel-host", True)
    assert refused.value.decision.code == "access_withdrawn"
    assert not live_meeting.participants.exists()


def test_S8_someone_still_entitled_joins_as_before(live_meeting):
    invitation = _invited(live_meeting)
    entry = actions.do_join(_attendee(invitation), "channel-ok", True)
    assert entry.participant.state == Participant.State.WAITING
    assert not AuditEvent.objects.filter(action="room.access_withdrawn").exists()


# Live: a real socket, opened before the removal, ban or revoked link


def _old_socket(stack, meeting: Meeting, invited: flows.Invited) -> Socket:
    """Another device of the same person: passcode entered, socket open, hello said, not
    joined yet."""
    socket = Socket(stack, flows.enter_passcode(stack, invited), meeting.id)
    flows.greet(socket)
    return socket


def _refused_and_closed(stack, socket: Socket) -> None:
    logged = stack.log.stat().st_size
    reply = socket.request({"type": "join", "private_place_confirmed": True})
    assert reply["type"] == "error" and reply["code"] == "access_withdrawn", reply
    with pytest.raises(Exception, match="4403"):
        socket.receive()
    assert_nothing_logged_at_error(stack, logged)


def assert_nothing_logged_at_error(stack, since: int) -> None:
    """No ERROR (and no traceback) in Haven's log since this offset."""
    with stack.log.open("rb") as log:
        log.seek(since)
        text = log.read().decode("utf-8", "replace")
    assert '"level": "ERROR"' not in text and "Traceback" not in text, text[-3000:]


def _never_waiting(meeting: Meeting, name: str) -> list[dict[str, Any]]:
    """Nothing more reaches the host about them: no waiting list naming them."""
    got = meeting.host.nothing_arrives(1.0)
    lists = [m for m in got if m["type"] == "waiting_list"]
    assert not [p for m in lists for p in m["waiting"] if p["name"] == name], lists
    return got


@pytest.mark.parametrize("how", ["remove", "ban"])
def test_S8_an_old_socket_cannot_join_after_its_person_is_removed_or_banned(stack, how):
    meeting = start_meeting(stack)
    name = f"Olly Old {how}"
    inside, pid, invited = admitted(stack, meeting, name)
    old = _old_socket(stack, meeting, invited)
    meeting.host.send({"type": how, "participant": pid, "reason": "Shared the link."})
    assert inside.expect("removed") == {"type": "removed"}
    meeting.host.expect("roster")
    _refused_and_closed(stack, old)
    _never_waiting(meeting, name)
    rows = database.query(
        stack,
        "SELECT state FROM room_participant p JOIN invitations_invitation i "
        "ON p.invitation_id = i.id WHERE i.email = ?",
        invited.email,
    )
    assert [row["state"] for row in rows] == ["left"]  # no new presence was made
    (row,) = [r for r in stack.audit("room.access_withdrawn") if r["invitation_id"] is not None][
        -1:
    ]
    assert json.loads(row["details"]) == {"because": "removed_or_banned", "resumed": False}


def test_S1_S8_an_old_socket_cannot_join_after_the_link_is_revoked(stack):
    meeting = start_meeting(stack)
    invited = flows.invite(stack, meeting.host_client, meeting.id, "Rita Revoked")
    old = _old_socket(stack, meeting, invited)
    invitation_id = database.invitation(stack, invited.email)["id"]
    post_action(meeting.host_client, f"/meetings/{meeting.id}/invitations/{invitation_id}/cancel/")
    assert database.invitation(stack, invited.email)["revoked_at"] is not None
    _refused_and_closed(stack, old)
    _never_waiting(meeting, "Rita Revoked")
    rows = database.query(
        stack, "SELECT id FROM room_participant WHERE invitation_id = ?", invitation_id
    )
    assert rows == []


def test_S8_a_resume_after_the_link_is_revoked_is_refused(stack):
    """A person waiting, whose link is then revoked: a new connection that resumes their
    place with its secret is refused, and their place is not taken over."""
    meeting = start_meeting(stack)
    invited = flows.invite(stack, meeting.host_client, meeting.id, "Ray Resume")
    client = flows.enter_passcode(stack, invited)
    first = Socket(stack, client, meeting.id)
    secret = flows.join(first)["resume"]
    meeting.waiting("Ray Resume")
    second = Socket(stack, client, meeting.id)  # opened while the link still worked
    flows.greet(second)
    invitation_id = database.invitation(stack, invited.email)["id"]
    post_action(meeting.host_client, f"/meetings/{meeting.id}/invitations/{invitation_id}/cancel/")
    logged = stack.log.stat().st_size
    reply = second.request({"type": "join", "private_place_confirmed": True, "resume": secret})
    assert reply["code"] == "access_withdrawn", reply
    with pytest.raises(Exception, match="4403"):
        second.receive()
    assert first.nothing_arrives(0.5) == []  # the first connection was not replaced
    assert_nothing_logged_at_error(stack, logged)
