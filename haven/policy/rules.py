"""What each role may do in each meeting state: the one place these decisions live.

Plain functions of plain values, used by HTTP views and the WebSocket consumer alike.
Everything is refused unless a rule here allows it (deny by default).
"""

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    HOST = "host"
    ATTENDEE = "attendee"


class Presence(StrEnum):
    """Where a person is: mirrors room.Participant.State."""

    CONNECTED = "connected"
    WAITING = "waiting"
    ADMITTED = "admitted"
    LEFT = "left"


class MeetingState(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"


@dataclass(frozen=True)
class Decision:
    """The answer to "may they?": allowed, or refused with a stable code and plain words."""

    allowed: bool
    code: str = ""
    message: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True)


def _refuse(code: str, message: str) -> Decision:
    return Decision(False, code, message)


HOST_ONLY = _refuse("not_allowed", "Only the host can do that.")
NOT_IN_MEETING = _refuse("not_allowed", "You can do that once the host has let you in.")
MEETING_OVER = _refuse("meeting_ended", "This meeting has ended.")


class Source(StrEnum):
    """What a published stream carries."""

    CAMERA = "camera"
    SCREEN = "screen"


@dataclass(frozen=True)
class StreamAllowance:
    """How many streams of each kind one publication may carry (rule V2)."""

    audio: int
    video: int


# A camera publication: one microphone and one camera. A screen: one video, nothing else.
STREAMS = {
    Source.CAMERA: StreamAllowance(audio=1, video=1),
    Source.SCREEN: StreamAllowance(audio=0, video=1),
}
# Who may publish what (rule V2: only the host shares a screen).
SOURCES = {
    Role.HOST: frozenset({Source.CAMERA, Source.SCREEN}),
    Role.ATTENDEE: frozenset({Source.CAMERA}),
}
LOCKED = _refuse("meeting_locked", "The meeting is locked. Unlock it to let people in.")


CONFIRMATION_REQUIRED = _refuse(
    "confirmation_required",
    "Please confirm that you are somewhere you cannot be overheard or overlooked.",
)


def may_join(role: Role, presence: Presence, meeting: MeetingState, confirmed: bool) -> Decision:
    """Join: everyone confirms they cannot be overheard or overlooked first (rule S9).
    (Taking back a place already held, after a reload, counts the confirmation given on
    entering it: room.actions._join.)"""
    if meeting is MeetingState.ENDED:
        return MEETING_OVER
    if presence is not Presence.CONNECTED:
        return _refuse("already_joined", "You have already joined.")
    if not confirmed:
        return CONFIRMATION_REQUIRED
    return ALLOW


def entry_presence(role: Role) -> Presence:
    """Where joining puts a person: the host goes in, everyone else waits (rule S2)."""
    return Presence.ADMITTED if role is Role.HOST else Presence.WAITING


def may_moderate(actor: Role, actor_presence: Presence, meeting: MeetingState) -> Decision:
    """Host actions in a live meeting: admit, turn away, lock, remove, ban, ask, mute."""
    if actor is not Role.HOST:
        return HOST_ONLY
    if meeting is MeetingState.ENDED:
        return MEETING_OVER
    if actor_presence is not Presence.ADMITTED:
        return _refuse("not_joined", "Join the meeting first.")
    return ALLOW


def may_admit(
    actor: Role, actor_presence: Presence, meeting: MeetingState, locked: bool = False
) -> Decision:
    """Only the host lets people in, and nobody gets in while it is locked (S2, S3)."""
    decision = may_moderate(actor, actor_presence, meeting)
    if decision and locked:
        return LOCKED
    return decision


def may_end_meeting(actor: Role, meeting: MeetingState) -> Decision:
    """Only the host ends the meeting for everyone."""
    if actor is not Role.HOST:
        return HOST_ONLY
    if meeting is MeetingState.ENDED:
        return MEETING_OVER
    return ALLOW


def may_use_media(presence: Presence, meeting: MeetingState) -> Decision:
    """Send or receive media: only people in the meeting, never the waiting room (rule S2)."""
    if meeting is MeetingState.ENDED:
        return MEETING_OVER
    if presence is not Presence.ADMITTED:
        return NOT_IN_MEETING
    return ALLOW


def may_chat(presence: Presence, meeting: MeetingState) -> Decision:
    """Chat is for people in the meeting, never the waiting room (S2); to everyone (S5)."""
    if meeting is MeetingState.ENDED:
        return MEETING_OVER
    if presence is not Presence.ADMITTED:
        return NOT_IN_MEETING
    return ALLOW


def may_raise_hand(presence: Presence, meeting: MeetingState) -> Decision:
    """Raise or lower your own hand: anyone in the meeting, the host too, never the waiting
    room (S2). Only your own: the message names nobody, so nobody raises another's hand."""
    if meeting is MeetingState.ENDED:
        return MEETING_OVER
    if presence is not Presence.ADMITTED:
        return NOT_IN_MEETING
    return ALLOW


def may_lower_hand(
    actor: Role, actor_presence: Presence, meeting: MeetingState, *, own: bool
) -> Decision:
    """Lower your own hand (as may_raise_hand); lower someone else's: the host only."""
    if own:
        return may_raise_hand(actor_presence, meeting)
    return may_moderate(actor, actor_presence, meeting)


def may_receive_meeting_events(presence: Presence) -> bool:
    """Roster, feeds and chat reach only people in the meeting (rule S2)."""
    return presence is Presence.ADMITTED


def may_see_supervision(role: Role) -> bool:
    """Who supervises a child or a person the host marked is for the host (rule U5).

    It names a third person and says that someone needs supervising: attendees' rosters
    never carry it.
    """
    return role is Role.HOST


def may_publish(role: Role, source: Source, audio: int, video: int) -> Decision:
    """Refuse a screen from anyone but the host, and any extra stream (rule V2)."""
    if source not in SOURCES[role]:
        return _refuse("not_allowed", "Only the host can share a screen.")
    allowance = STREAMS[source]
    too_many = audio > allowance.audio or video > allowance.video
    if too_many or (source is Source.SCREEN and video != 1):
        return _refuse(
            "too_many_streams",
            "Only the host can share a screen."
            if role is Role.ATTENDEE
            else "That is more streams than Haven allows.",
        )
    return ALLOW


def may_email_document(meeting: MeetingState) -> Decision:
    """The host may email a document to people invited until the meeting ends (rule S4).

    Who is the host is checked by the page's guards (the permission table and the
    meeting's own host); documents never go through the meeting itself.
    """
    if meeting is MeetingState.ENDED:
        return MEETING_OVER
    return ALLOW
