"""Every change to a live meeting: check, change, audit, then broadcast after commit.

The WebSocket consumer calls these (through database_sync_to_async); each is one
transaction, so a refused or failed action changes nothing and tells nobody. Media-server
work (mute, kick) happens in the consumer, after the action has committed.
"""

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from pydantic import BaseModel, TypeAdapter

from haven.audit.log import Actor, record
from haven.bans.actions import BanError, create_ban
from haven.bans.models import Removal
from haven.chat.history import histories
from haven.consent.models import Consent
from haven.meetings import capacity
from haven.meetings.models import Meeting
from haven.policy import rules
from haven.policy.rules import Decision, MeetingState, Presence, Role, Source
from haven.records.actions import do_close_chat
from haven.room import groups
from haven.room import protocol as p
from haven.room.access import ACCESS_WITHDRAWN, Identity, withdrawn_because
from haven.room.models import Participant
from haven.room.presence import SERVER_NAME, gone_after

LeftBecause = Participant.LeftBecause


class Refused(Exception):
    """The policy said no. Carries the stable code and plain words for the client."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.message)
        self.decision = decision


NOT_WAITING = Decision(False, "not_found", "Nobody with that id is waiting.")
NOT_PRESENT = Decision(False, "not_found", "Nobody with that id is in this meeting.")


def require(decision: Decision) -> None:
    if not decision:
        raise Refused(decision)


def presence(participant: Participant | None) -> Presence:
    return Presence(participant.state) if participant is not None else Presence.CONNECTED


def meeting_state(meeting: Meeting) -> MeetingState:
    return MeetingState(meeting.state)


# Snapshots sent to clients


def person(participant: Participant, supervisors: Mapping[int, str] | None = None) -> p.Person:
    """One roster entry; with `supervisors` (the host's roster), who supervises them (U5)."""
    if participant.is_host:
        host = participant.meeting.host
        return p.Person(
            participant=participant.public_id,
            name=participant.name,
            role="host",
            is_host=True,
            job_title=host.job_title,
            staff_page=participant.meeting.policy.staff_page_url,
        )
    return p.Person(
        participant=participant.public_id,
        name=participant.name,
        role=participant.invitation.role,  # type: ignore[union-attr]
        is_host=False,
        supervised_by=(supervisors or {}).get(participant.invitation.pk),  # type: ignore[union-attr]
    )


def waiting_person(
    participant: Participant, supervisors: Mapping[int, str] | None = None
) -> p.Person:
    """One entry of the host's waiting list (only hosts get it): flags in words, and who
    supervises a child or a person the host marked (U5), as in the host's roster."""
    flags = [
        flag
        for flag, present in (
            ("second_device", participant.second_device),
            ("arrived_while_locked", participant.arrived_while_locked),
        )
        if present
    ]
    return person(participant, supervisors).model_copy(update={"flags": flags})


def _related(queryset: QuerySet[Participant]) -> QuerySet[Participant]:
    return queryset.select_related("invitation", "meeting__host", "meeting__policy")


def _admitted(meeting: Meeting) -> list[Participant]:
    return list(_related(meeting.participants.filter(state=Participant.State.ADMITTED)))


def roster(meeting: Meeting, role: Role = Role.ATTENDEE) -> list[p.Person]:
    """Who is in the meeting, as `role` sees it."""
    return _roster_of(_admitted(meeting), role)


def _roster_of(admitted: list[Participant], role: Role) -> list[p.Person]:
    named = supervisors(admitted) if rules.may_see_supervision(role) else {}
    return [person(each, named) for each in admitted]


def supervisors(participants: Iterable[Participant]) -> dict[int, str]:
    """Invitation id -> the supervising adult named in its newest consent that stands,
    for each child or person the host marked (U5). One query for the whole roster."""
    wanted = [
        each.invitation.pk
        for each in participants
        if each.invitation is not None and each.invitation.needs_supervising_adult
    ]
    if not wanted:
        return {}
    named = (
        Consent.objects.filter(invitation_id__in=wanted, voided_at__isnull=True)
        .exclude(supervising_adult="")
        .order_by("id")
        .values_list("invitation_id", "supervising_adult")
    )
    return dict(named)  # in order, so the newest consent's adult is the one kept


def feeds(meeting: Meeting) -> list[p.Feed]:
    admitted = meeting.participants.filter(state=Participant.State.ADMITTED)
    return _feeds_of(admitted.filter(Q(feed_id__isnull=False) | Q(screen_feed_id__isnull=False)))


def _feeds_of(participants: Iterable[Participant]) -> list[p.Feed]:
    found = []
    for each in participants:
        if each.feed_id is not None:
            found.append(p.Feed(feed=each.feed_id, participant=each.public_id))
        if each.screen_feed_id is not None:
            found.append(
                p.Feed(feed=each.screen_feed_id, participant=each.public_id, source="screen")
            )
    return found


class Snapshot(BaseModel):
    """The meeting as someone just let in first sees it; passed between connections."""

    roster: list[p.Person]
    feeds: list[p.Feed]
    hands: list[p.Hand] = []


# Someone's chat so far, passed with their `admitted` between connections.
CHAT_ITEMS = TypeAdapter(list[p.ChatItem])


def waiting(meeting: Meeting) -> list[p.Person]:
    queue = list(_related(meeting.participants.filter(state=Participant.State.WAITING)))
    named = supervisors(queue)
    return [waiting_person(each, named) for each in queue]


def send_roster(meeting: Meeting) -> None:
    """The roster to everyone in the meeting; the host's says who supervises whom (U5)."""
    admitted = _admitted(meeting)
    groups.send_on_commit(
        groups.in_meeting(meeting),
        p.Roster(roster=_roster_of(admitted, Role.ATTENDEE)),
        host_message=p.Roster(roster=_roster_of(admitted, Role.HOST)),
    )


def send_waiting_list(meeting: Meeting) -> None:
    groups.send_on_commit(groups.hosts(meeting), p.WaitingList(waiting=waiting(meeting)))


def refuse_and_audit(identity: Identity, message_type: str, decision: Decision) -> None:
    """Audit a refused request: an attendee sending the host's messages by hand is evidence."""
    record(
        "protocol.refused",
        identity.actor,
        meeting=identity.meeting,
        message_type=message_type,
        code=decision.code,
    )


# Entering and leaving


@dataclass
class Entry:
    """Who joined, the secret their browser resumes with, and whether it resumed."""

    participant: Participant
    resume: str
    resumed: bool = False


def _resume_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class ResumeDeclined(Refused):
    """A `join` that only asked for a place back (no fresh S9 confirmation), and no place
    is held: the person confirms and joins anew. Carries why, for the audit."""

    def __init__(self, because: str) -> None:
        super().__init__(rules.CONFIRMATION_REQUIRED)
        self.because = because


class AccessWithdrawn(Refused):
    """Entitlement read afresh at `join` says no (rules S1, S8); carries why, for the audit."""

    def __init__(self, because: str) -> None:
        super().__init__(ACCESS_WITHDRAWN)
        self.because = because


def do_join(
    identity: Identity, channel_name: str, confirmed: bool, resume: str | None = None
) -> Entry:
    """Enter the meeting: the host goes in and starts it; anyone else waits (S2, S9).

    Who may enter is read again first, on every join and every resume: a socket opened
    before a removal, a ban or a revoked link reaches nothing (S1, S8). That refusal is
    audited, in its own transaction, after the join's has been rolled back.

    With `resume` (the secret of an earlier join, given back by the same person after
    their connection closed without `leave`: a reload, a
    crash, the network, or its Haven process went away) they are where they were, if
    their place is still held (_held_place): admitted, or waiting. Otherwise it is an
    ordinary join, which needs `confirmed`; without it the join is refused
    (`confirmation_required`) and the person confirms on the page first (S9). A resume
    that finds no place is audited (`room.resume_declined`), never admitted.
    """
    try:
        return _join(identity, channel_name, confirmed, resume)
    except AccessWithdrawn as refusal:
        record(
            "room.access_withdrawn",
            identity.actor,
            meeting=identity.meeting,
            because=refusal.because,
            resumed=bool(resume),
        )
        raise
    except ResumeDeclined as refusal:
        record(
            "room.resume_declined",
            identity.actor,
            meeting=identity.meeting,
            because=refusal.because,
        )
        raise


@transaction.atomic
def _join(identity: Identity, channel_name: str, confirmed: bool, resume: str | None) -> Entry:
    # The meeting row is locked first, as a removal locks it: either the removal
    # committed and is seen here, or it waits for this join and then ends its presence.
    meeting = Meeting.lock(identity.meeting.pk)
    state = meeting_state(meeting)
    # Taking a held place back needs no fresh confirmation: it was given on entering it.
    require(rules.may_join(identity.role, Presence.CONNECTED, state, confirmed or bool(resume)))
    because = withdrawn_because(identity)
    if because is not None:
        raise AccessWithdrawn(because)
    if resume:
        resumed, declined = _resume(meeting, identity, channel_name, resume)
        if resumed is not None:
            return Entry(resumed, resume, resumed=True)
        if not confirmed:
            raise ResumeDeclined(declined)
        record("room.resume_declined", identity.actor, meeting=meeting, because=declined)
    require(rules.may_join(identity.role, Presence.CONNECTED, state, confirmed))
    secret = secrets.token_urlsafe(32)
    entry = rules.entry_presence(identity.role)
    participant = Participant.objects.create(
        public_id=f"p_{secrets.token_hex(8)}",
        meeting=meeting,
        user=identity.user,
        invitation=identity.invitation,
        name=identity.name,
        state=entry.value,
        channel_name=channel_name,
        server=SERVER_NAME,
        resume_hash=_resume_hash(secret),
        admitted_at=timezone.now() if entry is Presence.ADMITTED else None,
        second_device=_already_connected(meeting, identity),
        arrived_while_locked=meeting.locked and entry is Presence.WAITING,
    )
    record("room.confirmed_private_place", identity.actor, meeting=meeting)
    entered = Entry(participant, secret)
    if identity.role is Role.HOST:
        _start(meeting, identity.actor)
        send_roster(meeting)
        return entered
    record(
        "room.entered_waiting_room",
        identity.actor,
        meeting=meeting,
        second_device=participant.second_device,
        locked=meeting.locked,
    )
    if meeting.locked:
        record("room.arrived_while_locked", identity.actor, meeting=meeting)
        groups.send_on_commit(groups.hosts(meeting), p.LockAttempt(name=participant.name))
    send_waiting_list(meeting)
    return entered


def _resume(
    meeting: Meeting, identity: Identity, channel_name: str, resume: str
) -> tuple[Participant | None, str]:
    """Move a place this same person holds to a new connection; or None and why not.

    Their media went with the old connection: its feeds are forgotten, and they publish
    again. The old connection, if it still lives on some process, is closed. A place
    whose connection closed without `leave` comes back as it was: in the meeting (the
    roster says so again; nobody lets them in again) or in the queue.
    """
    found = (
        _held_places(meeting)
        .filter(resume_hash=_resume_hash(resume))
        .filter(user=identity.user, invitation=identity.invitation)
        .select_for_update(no_key=True)
        .first()
    )
    if found is None:
        return None, _declined_because(meeting, identity, resume)
    came_back = found.state == Participant.State.LEFT
    if came_back:
        was_in = found.admitted_at is not None
        if was_in and found.invitation_id is not None and capacity.places_left(meeting) < 1:
            return None, "meeting_full"  # rule P3: someone was let in meanwhile
        found.state = Participant.State.ADMITTED if was_in else Participant.State.WAITING
        found.left_because, found.left_at = "", None
    old_channel = found.channel_name
    # Already told when the old connection closed (do_leave), if it did.
    gone = [] if came_back else [f for f in (found.feed_id, found.screen_feed_id) if f is not None]
    found.channel_name, found.server = channel_name, SERVER_NAME
    found.feed_id, found.audio_mid, found.screen_feed_id = None, "", None
    found.save()
    details = {"state": found.state, "after_close": True} if came_back else {"state": found.state}
    record("room.resumed", identity.actor, meeting=meeting, **details)
    if not came_back:
        groups.signal_on_commit(old_channel, {"type": "room.replaced"})
    for feed_id in gone:
        groups.send_on_commit(groups.in_meeting(meeting), p.FeedRemoved(feed=feed_id))
    if found.state == Participant.State.WAITING:
        send_waiting_list(meeting)
    elif came_back:
        send_roster(meeting)
    return found, ""


def _held_places(meeting: Meeting) -> QuerySet[Participant]:
    """Places that are held: live ones, and those whose connection closed without `leave`
    within HAVEN_SERVER_GONE_SECONDS (a reload, a crash, the network). `leave`, a removal,
    a ban, being turned away, the meeting ending, or being let go after a Haven process
    stopped end a place for good; so does a lock while its person is away (do_set_lock)."""
    live = (Participant.State.WAITING, Participant.State.ADMITTED)
    return meeting.participants.filter(Q(state__in=live) | _away_within_grace())


def _away_within_grace() -> Q:
    return Q(
        state=Participant.State.LEFT,
        left_because=LeftBecause.DISCONNECTED,
        left_at__gte=timezone.now() - gone_after(),
    ) & ~Q(resume_hash="")


def _declined_because(meeting: Meeting, identity: Identity, resume: str) -> str:
    """Why a resume found no place, for the audit: `expired` (the place was held, and its
    grace passed) or `not_held` (left, given up, another person's, or never given)."""
    mine = meeting.participants.filter(
        resume_hash=_resume_hash(resume),
        user=identity.user,
        invitation=identity.invitation,
        left_because=LeftBecause.DISCONNECTED,
    )
    return "expired" if mine.exists() else "not_held"


def _already_connected(meeting: Meeting, identity: Identity) -> bool:
    """Is this invitation's place already held, by a live connection or one that closed
    moments ago and may come back? (rule S1)"""
    if identity.invitation is None:
        return False
    return _held_places(meeting).filter(invitation=identity.invitation).exists()


def _start(meeting: Meeting, actor: Actor) -> None:
    if meeting.state == Meeting.State.SCHEDULED:
        meeting.state = Meeting.State.LIVE
        meeting.started_at = timezone.now()
        meeting.save(update_fields=["state", "started_at"])
        record("meeting.started", actor, meeting=meeting)
    record("room.host_joined", actor, meeting=meeting)


@transaction.atomic
def do_leave(
    participant: Participant,
    actor: Actor,
    because: str = LeftBecause.LEFT,
    *,
    channel_name: str | None = None,
    keep_place: bool = False,
) -> bool:
    """Leave the meeting or the waiting room; everyone affected is told. False if gone.

    With `channel_name`, only if that connection still holds the presence: one that was
    resumed on another connection (or process) is not ended by the old one closing.

    With `keep_place` (a connection that closed without `leave`: a reload, a crash, the
    network) the person is gone from the roster, but their place is held for
    HAVEN_SERVER_GONE_SECONDS: their page may take it back with its resume secret
    (_resume). Otherwise the secret is spent with the place.
    """
    # Locked: a resume on another process moves the place in a transaction of its own.
    participant.refresh_from_db(from_queryset=Participant.objects.select_for_update(no_key=True))
    if participant.state == Participant.State.LEFT:
        return False
    if channel_name is not None and participant.channel_name != channel_name:
        return False
    was = participant.state
    had_hand = participant.hand_raised_at is not None
    participant.state = Participant.State.LEFT
    participant.left_because = because
    participant.left_at = timezone.now()
    participant.hand_raised_at = None  # a hand goes down as its person leaves
    if not keep_place:
        participant.resume_hash = ""
    fields = ["state", "left_because", "left_at", "hand_raised_at", "resume_hash"]
    participant.save(update_fields=fields)
    meeting = participant.meeting
    record("room.left", actor, meeting=meeting, was=was, because=because)
    for feed_id in (participant.feed_id, participant.screen_feed_id):
        if feed_id is not None:
            groups.send_on_commit(groups.in_meeting(meeting), p.FeedRemoved(feed=feed_id))
    if was == Participant.State.ADMITTED:
        send_roster(meeting)
        if had_hand:
            send_hands(meeting)
    else:
        send_waiting_list(meeting)
    return True


# The host's actions


def _moderation(host: Participant, identity: Identity, *, admitting: bool = False) -> Meeting:
    """Lock the meeting row and check the host may act on it now."""
    meeting = Meeting.lock(identity.meeting.pk)
    host.refresh_from_db()
    if admitting:
        require(
            rules.may_admit(identity.role, presence(host), meeting_state(meeting), meeting.locked)
        )
    else:
        require(rules.may_moderate(identity.role, presence(host), meeting_state(meeting)))
    return meeting


def _target(meeting: Meeting, public_id: str, *states: str) -> Participant:
    found = (
        meeting.participants.select_related("invitation")
        .filter(public_id=public_id, state__in=states, invitation__isnull=False)
        .first()
    )
    if found is None:
        raise Refused(NOT_WAITING if states == (Participant.State.WAITING,) else NOT_PRESENT)
    return found


def _admit(meeting: Meeting, target: Participant, identity: Identity, muted: bool) -> None:
    target.state = Participant.State.ADMITTED
    target.admitted_at = timezone.now()
    target.admitted_by = identity.user
    # Rule P3, enforced on the media server: their first feed is muted, its video too.
    target.muted_on_entry = target.camera_off_on_entry = muted
    fields = ["state", "admitted_at", "admitted_by", "muted_on_entry", "camera_off_on_entry"]
    target.save(update_fields=fields)
    record(
        "room.admitted",
        identity.actor,
        meeting=meeting,
        invitation=target.invitation,
        second_device=target.second_device,
        muted_on_entry=muted,
    )


def _let_in(
    meeting: Meeting, identity: Identity, targets: list[Participant], *, open_media: bool
) -> None:
    """Admit each of them, and once the transaction commits tell each person let in
    (`admitted`, first: they are the ones waiting), the meeting (roster) and the host
    (waiting list), all in one hop (groups.AfterCommit: bench/, issue 8).

    What each person let in first sees is read here, inside the transaction, so nothing
    is left for their own connection to read before it can answer: the roster and feeds
    once for all of them (a connection reading the roster for itself meant that letting
    200 people in at once read it 200 times), and each one's chat so far.

    They join the meeting's group right at the commit, so every change after it (a feed
    that comes up, someone leaving) reaches them too, queued behind this snapshot; the
    roster sent to the group goes before they join it, since the snapshot has it.

    ``open_media``: their connection opens their media session at once rather than at
    their first subscription. Only for one person let in: for hundreds let in together it
    meant hundreds of sessions opened in one burst, competing with telling the rest that
    they are in, and then closed when they leave (bench/: 500 let in at once).
    """
    # Rule P3: in a meeting type whose attendees start muted, they come in with their
    # microphone and camera off: their page is told, and their feed is muted on the
    # media server until they turn each on themselves (V3). Never the host.
    muted = capacity.attendees_start_muted(meeting)
    for target in targets:
        _admit(meeting, target, identity, muted)
    admitted = _admitted(meeting)
    people = _roster_of(admitted, Role.ATTENDEE)  # nobody let in is the host
    snapshot = Snapshot(
        roster=people, feeds=_feeds_of(admitted), hands=_hands_of(admitted)
    ).model_dump_json()
    chats = histories(meeting.pk, targets)
    after = groups.AfterCommit()
    for target in targets:
        chat = CHAT_ITEMS.dump_json(chats[target.pk]).decode()
        after.signal(
            target.channel_name,
            {
                "type": "room.admitted",
                "snapshot": snapshot,
                "chat": chat,
                "open_media": open_media,
                "muted_on_entry": muted,
            },
        )
    after.send(
        groups.in_meeting(meeting),
        p.Roster(roster=people),
        host_message=p.Roster(roster=_roster_of(admitted, Role.HOST)),
    )
    after.send(groups.hosts(meeting), p.WaitingList(waiting=waiting(meeting)))
    group = groups.in_meeting(meeting)
    for target in targets:
        after.add(group, target.channel_name)
    after.on_commit()


@transaction.atomic
def do_admit(host: Participant, identity: Identity, target_public_id: str) -> Participant:
    """Let one person in from the waiting room. Only the host may, not while locked, and
    not past the meeting type's cap (rule P3). A second device on the same link (S1) is
    let in only this way: one by one, on purpose."""
    meeting = _moderation(host, identity, admitting=True)
    target = _target(meeting, target_public_id, Participant.State.WAITING)
    if capacity.places_left(meeting) < 1:
        raise Refused(capacity.meeting_full(meeting))
    _let_in(meeting, identity, [target], open_media=True)
    return target


@transaction.atomic
def do_admit_all(host: Participant, identity: Identity) -> p.AdmittedAll:
    """Let everyone waiting in, but for two kinds of people, who stay waiting: a second
    device on a link already in use (S1: the host lets them in one by one, on purpose),
    and anyone past the meeting type's cap (P3). The host is told who was held back."""
    meeting = _moderation(host, identity, admitting=True)
    queue = list(
        meeting.participants.filter(
            state=Participant.State.WAITING, invitation__isnull=False
        ).order_by("pk")
    )
    seconds = [each for each in queue if each.second_device]
    firsts = [each for each in queue if not each.second_device]
    room = capacity.places_left(meeting)
    let_in, full = firsts[:room], firsts[room:]
    if let_in:
        _let_in(meeting, identity, let_in, open_media=False)
    held_back = [_held_back(each, "second_device") for each in seconds] + [
        _held_back(each, "meeting_full") for each in full
    ]
    if held_back:
        record(
            "room.admit_all_held_back",
            identity.actor,
            meeting=meeting,
            admitted=len(let_in),
            second_device=len(seconds),
            meeting_full=len(full),
        )
    return p.AdmittedAll(admitted=len(let_in), held_back=held_back)


def _held_back(participant: Participant, because: str) -> p.HeldBack:
    return p.HeldBack(
        participant=participant.public_id,
        name=participant.name,
        because=because,  # type: ignore[arg-type]
    )


@transaction.atomic
def do_turn_away(
    host: Participant, identity: Identity, target_public_id: str, message: str
) -> None:
    """Send one person away from the waiting room with a short message."""
    meeting = _moderation(host, identity)
    target = _target(meeting, target_public_id, Participant.State.WAITING)
    _end_presence(target, LeftBecause.TURNED_AWAY)
    record("room.turned_away", identity.actor, meeting=meeting, invitation=target.invitation)
    groups.send_on_commit(
        target.channel_name, p.TurnedAway(message=message), group=False, close=True
    )
    send_waiting_list(meeting)


def _give_up_places_of_people_away(meeting: Meeting, identity: Identity) -> None:
    """Locking gives up the places of attendees who were in and are away (their
    connection closed moments ago): nobody new comes in while it is locked (S3), and
    someone who had left is new again. They can still wait to be let in."""
    away = meeting.participants.filter(_away_within_grace(), admitted_at__isnull=False)
    for each in away.filter(invitation__isnull=False).select_related("invitation"):
        each.resume_hash = ""
        each.save(update_fields=["resume_hash"])
        record("room.place_given_up", identity.actor, meeting=meeting, invitation=each.invitation)


def _end_presence(target: Participant, because: str) -> bool:
    """They are gone, their hand down with them. Returns whether it was raised."""
    had_hand = target.hand_raised_at is not None
    target.state = Participant.State.LEFT
    target.left_because = because
    target.left_at = timezone.now()
    target.hand_raised_at = None
    target.save(update_fields=["state", "left_because", "left_at", "hand_raised_at"])
    return had_hand


@transaction.atomic
def do_set_lock(host: Participant, identity: Identity, locked: bool) -> None:
    """Lock or unlock the meeting (rule S3). Everyone connected is told."""
    meeting = _moderation(host, identity)
    if meeting.locked != locked:
        meeting.locked = locked
        meeting.save(update_fields=["locked"])
        record("meeting.locked" if locked else "meeting.unlocked", identity.actor, meeting=meeting)
        if locked:
            _give_up_places_of_people_away(meeting, identity)
    # Sent even when nothing changed, so every screen agrees with the meeting.
    groups.send_on_commit(groups.everyone(meeting), p.LockChanged(locked=locked))


@transaction.atomic
def do_remove(
    host: Participant,
    identity: Identity,
    target_public_id: str,
    reason: str,
    *,
    ban: bool,
    review_on: dt.date | None = None,
) -> list[int]:
    """Remove someone at once; they cannot come back to this meeting (S8). A ban also
    blocks their email from every meeting of the organisation until it is lifted.
    Returns the feeds they were publishing, for the media server to drop."""
    meeting = _moderation(host, identity)
    live = (Participant.State.WAITING, Participant.State.ADMITTED)
    target = _target(meeting, target_public_id, *live)
    invitation = target.invitation
    assert invitation is not None and identity.user is not None
    email = invitation.email.strip().lower()
    Removal.objects.create(meeting=meeting, email=email, reason=reason, removed_by=identity.user)
    if ban:
        try:
            create_ban(meeting, email, reason, identity.user, review_on)
        except BanError as error:
            raise Refused(Decision(False, "bad_message", str(error))) from None
    record(
        "room.banned" if ban else "room.removed",
        identity.actor,
        meeting=meeting,
        invitation=invitation,
        notes={"reason": reason},
    )
    # Every connection of this person goes: a second device too.
    feeds_gone: list[int] = []
    had_hand = False
    for each in meeting.participants.filter(invitation=invitation, state__in=live):
        feeds_gone += [f for f in (each.feed_id, each.screen_feed_id) if f is not None]
        had_hand |= _end_presence(each, LeftBecause.BANNED if ban else LeftBecause.REMOVED)
        groups.signal_on_commit(each.channel_name, {"type": "room.removed"})
    for feed_id in feeds_gone:
        groups.send_on_commit(groups.in_meeting(meeting), p.FeedRemoved(feed=feed_id))
    send_roster(meeting)
    if had_hand:
        send_hands(meeting)
    send_waiting_list(meeting)
    return feeds_gone


@transaction.atomic
def do_ask(host: Participant, identity: Identity, target_public_id: str | None, what: str) -> None:
    """Ask one person or everyone to mute or turn their camera off (V3): a request only."""
    meeting = _moderation(host, identity)
    targets = _admitted_attendees(meeting, target_public_id)
    record(
        "room.asked", identity.actor, meeting=meeting, what=what, everyone=target_public_id is None
    )
    asked = p.Asked(what=what, everyone=target_public_id is None)  # type: ignore[arg-type]
    for target in targets:
        groups.send_on_commit(target.channel_name, asked, group=False)


@transaction.atomic
def do_mute(
    host: Participant, identity: Identity, target_public_id: str | None
) -> list[Participant]:
    """Mute one person or everyone on the media server (V3). Returns whom to mute there."""
    meeting = _moderation(host, identity)
    targets = _admitted_attendees(meeting, target_public_id)
    record(
        "room.muted",
        identity.actor,
        meeting=meeting,
        everyone=target_public_id is None,
        count=len(targets),
    )
    # Kept on their row until they unmute themselves: their next feed is muted too (V3).
    # The update waits for a feed being recorded meanwhile (do_record_feed locks the row),
    # and the targets are read again after it, so either that feed is muted here or
    # do_record_feed sees the flag.
    muted = Participant.objects.filter(pk__in=[target.pk for target in targets])
    muted.update(host_muted=True)
    targets = list(muted.order_by("pk"))
    for target in targets:
        groups.signal_on_commit(target.channel_name, {"type": "room.muted_by_host"})
    return targets


def host_mute_stands(participant: Participant) -> bool:
    """Whether the host's mute stands for this person (they have not unmuted since)."""
    return Participant.objects.filter(pk=participant.pk, host_muted=True).exists()


@dataclass(frozen=True)
class StandingMutes:
    """What stays muted on the media server for this person's next feed until they
    lift it themselves (V3): the host's mute, and the meeting type's start (P3)."""

    host_muted: bool = False
    muted_on_entry: bool = False
    camera_off_on_entry: bool = False

    @property
    def audio(self) -> bool:
        return self.host_muted or self.muted_on_entry


def standing_mutes(participant: Participant) -> StandingMutes:
    row = Participant.objects.filter(pk=participant.pk)
    fields = ("host_muted", "muted_on_entry", "camera_off_on_entry")
    found = row.values_list(*fields).first()
    return StandingMutes(*found) if found is not None else StandingMutes()


@transaction.atomic
def do_unmute_self(participant: Participant, actor: Actor) -> bool:
    """The person lifts the host's mute from themself, or the muted start of their
    meeting's type (P3): the only way either is lifted (V3). Returns whether the host
    had muted them."""
    mine = Participant.objects.filter(pk=participant.pk)
    lifted = mine.filter(host_muted=True).update(host_muted=False)
    started_muted = mine.filter(muted_on_entry=True).update(muted_on_entry=False)
    if lifted or started_muted:
        record("room.unmuted_self", actor, meeting=participant.meeting)
    return bool(lifted)


@transaction.atomic
def do_camera_on_self(participant: Participant, actor: Actor) -> bool:
    """The person turns their own camera on in a meeting whose type starts cameras off
    (P3): the only way that hold on their video is lifted (V3). Returns whether it stood."""
    mine = Participant.objects.filter(pk=participant.pk, camera_off_on_entry=True)
    lifted = mine.update(camera_off_on_entry=False)
    if lifted:
        record("room.camera_on_self", actor, meeting=participant.meeting)
    return bool(lifted)


def _admitted_attendees(meeting: Meeting, public_id: str | None) -> list[Participant]:
    if public_id is not None:
        return [_target(meeting, public_id, Participant.State.ADMITTED)]
    admitted = meeting.participants.filter(
        state=Participant.State.ADMITTED, invitation__isnull=False
    )
    return list(admitted)


# Raised hands


def hands(meeting: Meeting) -> list[p.Hand]:
    """The raised hands of everyone in the meeting, in the order raised."""
    raised = meeting.participants.filter(
        state=Participant.State.ADMITTED, hand_raised_at__isnull=False
    )
    return _hands_of(raised.only("pk", "public_id", "hand_raised_at"))


def _hands_of(participants: Iterable[Participant]) -> list[p.Hand]:
    raised = sorted(
        (each for each in participants if each.hand_raised_at is not None),
        key=lambda each: (each.hand_raised_at, each.pk),
    )
    return [
        p.Hand(participant=each.public_id, raised_at=each.hand_raised_at.isoformat())  # type: ignore[union-attr]
        for each in raised
    ]


def send_hands(meeting: Meeting) -> None:
    """The raised hands, in order, to everyone in the meeting (never the waiting room)."""
    groups.send_on_commit(groups.in_meeting(meeting), p.Hands(hands=hands(meeting)))


def _hands_to(participant: Participant, meeting: Meeting) -> None:
    """Nothing changed: the hands as they are, to the sender only, so their page agrees."""
    groups.send_on_commit(participant.channel_name, p.Hands(hands=hands(meeting)), group=False)


def _lock_row(participant: Participant) -> None:
    participant.refresh_from_db(from_queryset=Participant.objects.select_for_update(no_key=True))


@transaction.atomic
def do_raise_hand(participant: Participant, actor: Actor) -> None:
    """Raise your own hand: anyone in the meeting, never the waiting room. A hand already
    up keeps its place in the order. Raising a hand changes nothing else (no unmute: V3)."""
    _lock_row(participant)
    meeting = participant.meeting
    require(rules.may_raise_hand(presence(participant), meeting_state(meeting)))
    if participant.hand_raised_at is not None:
        _hands_to(participant, meeting)
        return
    participant.hand_raised_at = timezone.now()
    participant.save(update_fields=["hand_raised_at"])
    record("room.hand_raised", actor, meeting=meeting)
    send_hands(meeting)


@transaction.atomic
def do_lower_hand(
    participant: Participant, identity: Identity, target_public_id: str | None
) -> None:
    """Lower your own hand (no target, or your own id), or, the host only, anyone's in
    the meeting. The policy is asked before the target is looked for."""
    own = target_public_id in (None, participant.public_id)
    if own:
        _lock_row(participant)
        meeting = participant.meeting
        actor_presence = presence(participant)
    else:
        meeting = Meeting.lock(identity.meeting.pk)
        participant.refresh_from_db()
        actor_presence = presence(participant)
    require(rules.may_lower_hand(identity.role, actor_presence, meeting_state(meeting), own=own))
    target = participant
    if not own:
        assert target_public_id is not None
        target = _target(meeting, target_public_id, Participant.State.ADMITTED)
        _lock_row(target)
    if target.hand_raised_at is None:
        _hands_to(participant, meeting)
        return
    target.hand_raised_at = None
    target.save(update_fields=["hand_raised_at"])
    record("room.hand_lowered", identity.actor, meeting=meeting, own=own)
    send_hands(meeting)


@transaction.atomic
def do_end_meeting(identity: Identity, *, keep_transcript: bool = True) -> None:
    """End the meeting for everyone, waiting room included, and close its chat: kept as
    an encrypted transcript until its retention date, or destroyed now (S6)."""
    meeting = Meeting.lock(identity.meeting.pk)
    require(rules.may_end_meeting(identity.role, meeting_state(meeting)))
    meeting.state = Meeting.State.ENDED
    meeting.ended_at = timezone.now()
    meeting.save(update_fields=["state", "ended_at"])
    record("meeting.ended", identity.actor, meeting=meeting)
    do_close_chat(meeting, identity.actor, keep=keep_transcript)
    groups.signal_on_commit(groups.everyone(meeting), {"type": "room.ended"}, group=True)


@transaction.atomic
def do_end_unended_meeting(meeting: Meeting) -> int | None:
    """End a meeting its host never ended, long after its planned end (rule D3).

    As the End button would: for everyone, its chat kept as an encrypted transcript with
    its type's retention date, so chat never stays in clear. A meeting that never started
    just ends. Returns how many chat messages left the database in clear, or None if the
    meeting had ended meanwhile.
    """
    meeting = Meeting.lock(meeting.pk)
    if meeting.state == Meeting.State.ENDED:
        return None
    was_live = meeting.state == Meeting.State.LIVE
    messages = meeting.chat_messages.count()
    meeting.state = Meeting.State.ENDED
    meeting.ended_at = timezone.now()
    meeting.save(update_fields=["state", "ended_at"])
    record("meeting.ended", Actor.system(), meeting=meeting, because="not_ended_by_host")
    if was_live or messages:
        do_close_chat(meeting, Actor.system(), keep=True)
    groups.signal_on_commit(groups.everyone(meeting), {"type": "room.ended"}, group=True)
    return messages


# Media bookkeeping


@transaction.atomic
def do_record_feed(participant: Participant, source: Source, feed_id: int, audio_mid: str) -> bool:
    """Note a feed whose media is now up, and tell the meeting. Returns whether the host's
    mute stands for it (V3): the caller mutes it on the media server again."""
    # Locked: a host's mute at this moment waits, then finds this feed (see do_mute).
    participant.refresh_from_db(from_queryset=Participant.objects.select_for_update(no_key=True))
    if participant.state != Participant.State.ADMITTED:
        return False
    if source is Source.SCREEN:
        participant.screen_feed_id = feed_id
        participant.save(update_fields=["screen_feed_id"])
        record("room.screen_shared", Actor.staff(participant.user), meeting=participant.meeting)  # type: ignore[arg-type]
    else:
        participant.feed_id, participant.audio_mid = feed_id, audio_mid
        participant.save(update_fields=["feed_id", "audio_mid"])
    feed = p.Feed(feed=feed_id, participant=participant.public_id, source=source.value)
    groups.send_on_commit(groups.in_meeting(participant.meeting), p.FeedAdded(feed=feed))
    return source is Source.CAMERA and participant.host_muted and bool(audio_mid)


@transaction.atomic
def do_forget_feed(participant: Participant, source: Source | None = None) -> None:
    """A feed stopped: unpublished, or lost when the media server restarted (None: all)."""
    participant.refresh_from_db()
    gone = []
    if source in (None, Source.CAMERA) and participant.feed_id is not None:
        gone.append(participant.feed_id)
        participant.feed_id, participant.audio_mid = None, ""
    if source in (None, Source.SCREEN) and participant.screen_feed_id is not None:
        gone.append(participant.screen_feed_id)
        participant.screen_feed_id = None
    if not gone:
        return
    participant.save(update_fields=["feed_id", "audio_mid", "screen_feed_id"])
    for feed_id in gone:
        groups.send_on_commit(groups.in_meeting(participant.meeting), p.FeedRemoved(feed=feed_id))


def let_go_of_server(server: str) -> int:
    """Everyone a Haven process that stopped still held has left (disconnected), unless
    their browser resumed on another process meanwhile. Returns how many."""
    live = (Participant.State.WAITING, Participant.State.ADMITTED)
    held = Participant.objects.filter(server=server, state__in=live).select_related("invitation")
    count = 0
    for participant in held:
        actor = (
            Actor.staff(participant.user)  # type: ignore[arg-type]
            if participant.is_host
            else Actor.invitee(participant.invitation)  # type: ignore[arg-type]
        )
        left = do_leave(
            participant, actor, LeftBecause.DISCONNECTED, channel_name=participant.channel_name
        )
        count += left
    return count


def channels_in_meetings_held_here(not_on_media_server: str | None = None) -> list[str]:
    """The connections of this Haven process of everyone admitted to a meeting in progress
    (with `not_on_media_server`: only in meetings placed on another media server)."""
    held = Participant.objects.filter(
        server=SERVER_NAME,
        state=Participant.State.ADMITTED,
        meeting__state=Meeting.State.LIVE,
    )
    if not_on_media_server is not None:
        held = held.exclude(meeting__media_server=not_on_media_server)
    return list(held.values_list("channel_name", flat=True))
