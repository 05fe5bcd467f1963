"""Every change to a live meeting: check, change, audit, then broadcast after commit.

The WebSocket consumer calls these (through database_sync_to_async); each is one
transaction, so a refused or failed action changes nothing and tells nobody.
"""

import secrets

from django.db import transaction
from django.utils import timezone

from haven.audit.log import Actor, record
from haven.meetings.models import Meeting
from haven.policy import rules
from haven.policy.rules import Decision, MeetingState, Presence, Role
from haven.room import groups
from haven.room import protocol as p
from haven.room.access import Identity
from haven.room.models import Participant


class Refused(Exception):
    """The policy said no. Carries the stable code and plain words for the client."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.message)
        self.decision = decision


def require(decision: Decision) -> None:
    if not decision:
        raise Refused(decision)


def presence(participant: Participant | None) -> Presence:
    return Presence(participant.state) if participant is not None else Presence.CONNECTED


def meeting_state(meeting: Meeting) -> MeetingState:
    return MeetingState(meeting.state)


def person(participant: Participant) -> p.Person:
    return p.Person(
        participant=participant.public_id,
        name=participant.name,
        role="host" if participant.is_host else participant.invitation.role,  # type: ignore[union-attr]
        is_host=participant.is_host,
    )


def roster(meeting: Meeting) -> list[p.Person]:
    admitted = meeting.participants.filter(state=Participant.State.ADMITTED)
    return [person(each) for each in admitted.select_related("invitation")]


def feeds(meeting: Meeting) -> list[p.Feed]:
    admitted = meeting.participants.filter(state=Participant.State.ADMITTED, feed_id__isnull=False)
    return [p.Feed(feed=each.feed_id, participant=each.public_id) for each in admitted]  # type: ignore[arg-type]


def waiting(meeting: Meeting) -> list[p.Person]:
    queue = meeting.participants.filter(state=Participant.State.WAITING)
    return [person(each) for each in queue.select_related("invitation")]


def refuse_and_audit(identity: Identity, message_type: str, decision: Decision) -> None:
    """Audit a refused request: an attendee sending the host's messages by hand is evidence."""
    record(
        "protocol.refused",
        identity.actor,
        meeting=identity.meeting,
        message_type=message_type,
        code=decision.code,
    )


@transaction.atomic
def do_join(identity: Identity, channel_name: str, confirmed: bool) -> Participant:
    """Enter the meeting: the host goes in and starts it; anyone else waits (S2, S9)."""
    meeting = Meeting.objects.select_for_update().get(pk=identity.meeting.pk)
    require(rules.may_join(identity.role, Presence.CONNECTED, meeting_state(meeting), confirmed))
    entry = rules.entry_presence(identity.role)
    participant = Participant.objects.create(
        public_id=f"p_{secrets.token_hex(8)}",
        meeting=meeting,
        user=identity.user,
        invitation=identity.invitation,
        name=identity.name,
        state=entry.value,
        channel_name=channel_name,
        admitted_at=timezone.now() if entry is Presence.ADMITTED else None,
    )
    record("room.confirmed_private_place", identity.actor, meeting=meeting)
    if identity.role is Role.HOST:
        _start(meeting, identity.actor)
        send_roster(meeting)
    else:
        record("room.entered_waiting_room", identity.actor, meeting=meeting)
        send_waiting_list(meeting)
    return participant


def _start(meeting: Meeting, actor: Actor) -> None:
    if meeting.state == Meeting.State.SCHEDULED:
        meeting.state = Meeting.State.LIVE
        meeting.started_at = timezone.now()
        meeting.save(update_fields=["state", "started_at"])
        record("meeting.started", actor, meeting=meeting)
    record("room.host_joined", actor, meeting=meeting)


@transaction.atomic
def do_admit(host: Participant, identity: Identity, target_public_id: str) -> Participant:
    """Let one person in from the waiting room. Only the host may (rule S2)."""
    meeting = Meeting.objects.select_for_update().get(pk=identity.meeting.pk)
    host.refresh_from_db()
    require(rules.may_admit(identity.role, presence(host), meeting_state(meeting)))
    target = (
        meeting.participants.select_related("invitation")
        .filter(public_id=target_public_id, state=Participant.State.WAITING)
        .first()
    )
    if target is None:
        raise Refused(Decision(False, "not_found", "Nobody with that id is waiting."))
    target.state = Participant.State.ADMITTED
    target.admitted_at = timezone.now()
    target.admitted_by = identity.user
    target.save(update_fields=["state", "admitted_at", "admitted_by"])
    record("room.admitted", identity.actor, meeting=meeting, invitation=target.invitation)
    groups.signal_on_commit(target.channel_name, {"type": "room.admitted"})
    send_roster(meeting)
    send_waiting_list(meeting)
    return target


@transaction.atomic
def do_record_feed(participant: Participant, feed_id: int) -> None:
    """Note the media feed a participant now sends, and tell the meeting."""
    participant.feed_id = feed_id
    participant.save(update_fields=["feed_id"])
    feed = p.Feed(feed=feed_id, participant=participant.public_id)
    groups.send_on_commit(groups.in_meeting(participant.meeting), p.FeedAdded(feed=feed))


@transaction.atomic
def do_forget_feed(participant: Participant) -> None:
    """The media server lost this participant's feed (it restarted)."""
    participant.refresh_from_db()
    if participant.feed_id is None:
        return
    feed_id, participant.feed_id = participant.feed_id, None
    participant.save(update_fields=["feed_id"])
    groups.send_on_commit(groups.in_meeting(participant.meeting), p.FeedRemoved(feed=feed_id))


def live_meetings_in_meeting_groups() -> list[str]:
    """The content groups of every meeting in progress."""
    return [groups.in_meeting(meeting) for meeting in Meeting.objects.filter(state="live")]


@transaction.atomic
def do_leave(participant: Participant, actor: Actor) -> None:
    """Leave the meeting or the waiting room; everyone in the meeting is told."""
    participant.refresh_from_db()
    if participant.state == Participant.State.LEFT:
        return
    was = participant.state
    participant.state = Participant.State.LEFT
    participant.left_at = timezone.now()
    participant.save(update_fields=["state", "left_at"])
    meeting = participant.meeting
    record("room.left", actor, meeting=meeting, was=was)
    if participant.feed_id is not None:
        groups.send_on_commit(groups.in_meeting(meeting), p.FeedRemoved(feed=participant.feed_id))
    if was == Participant.State.ADMITTED:
        send_roster(meeting)
    else:
        send_waiting_list(meeting)


@transaction.atomic
def do_end_meeting(identity: Identity) -> None:
    """End the meeting for everyone, waiting room included."""
    meeting = Meeting.objects.select_for_update().get(pk=identity.meeting.pk)
    require(rules.may_end_meeting(identity.role, meeting_state(meeting)))
    meeting.state = Meeting.State.ENDED
    meeting.ended_at = timezone.now()
    meeting.save(update_fields=["state", "ended_at"])
    record("meeting.ended", identity.actor, meeting=meeting)
    groups.signal_on_commit(groups.everyone(meeting), {"type": "room.ended"}, group=True)


def send_roster(meeting: Meeting) -> None:
    groups.send_on_commit(groups.in_meeting(meeting), p.Roster(roster=roster(meeting)))


def send_waiting_list(meeting: Meeting) -> None:
    groups.send_on_commit(groups.hosts(meeting), p.WaitingList(waiting=waiting(meeting)))
