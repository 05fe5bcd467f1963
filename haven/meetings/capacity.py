"""How many attendees a meeting takes: its type's `max_attendees` (rule P3).

The cap holds where people are added: invitations (the invite form) and admissions
(`admit`, `admit_all`). The host is not counted. Each connection let in counts, a second
device on the same link too: each is one more publisher on the media server, whose room
is made for `max_attendees` of them (and the host's camera and screen).
"""

from haven.meetings.models import Meeting
from haven.policy.rules import Decision


def attendee_cap(meeting: Meeting) -> int:
    return meeting.meeting_type.max_attendees


def attendees_in(meeting: Meeting) -> int:
    """How many attendee connections are in the meeting now."""
    return meeting.participants.filter(state="admitted", invitation__isnull=False).count()


def places_left(meeting: Meeting) -> int:
    """How many more attendees may be let in now (never below 0)."""
    return max(0, attendee_cap(meeting) - attendees_in(meeting))


def meeting_full(meeting: Meeting) -> Decision:
    """The refusal a host gets for letting someone in past the cap."""
    cap = attendee_cap(meeting)
    return Decision(
        False,
        "meeting_full",
        f"The meeting is full: this type of meeting ({meeting.meeting_type.name}) takes at "
        f"most {cap} {_people(cap)} besides the host. Someone must leave before you let "
        "anyone else in.",
    )


def invitations_left(meeting: Meeting) -> int:
    """How many more people may be invited: invitations that still stand count."""
    standing = meeting.invitations.filter(revoked_at__isnull=True).count()
    return max(0, attendee_cap(meeting) - standing)


def invitations_full_message(meeting: Meeting) -> str:
    cap = attendee_cap(meeting)
    return (
        f"This meeting is full: this type of meeting ({meeting.meeting_type.name}) takes at "
        f"most {cap} {_people(cap)}, and {cap} {'is' if cap == 1 else 'are'} invited "
        "already. Cancel an invitation to invite someone else."
    )


def attendees_start_muted(meeting: Meeting) -> bool:
    """Attendees of this meeting's type join with their microphone off (rule P3)."""
    return meeting.meeting_type.attendees_start_muted


def _people(count: int) -> str:
    return "attendee" if count == 1 else "attendees"
