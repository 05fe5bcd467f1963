"""The calendar event that comes with a personal link (rule D2): iCalendar, RFC 5545/5546.

One event per invitee per meeting, with a UID that never changes, so a calendar updates
the same entry: METHOD:REQUEST with a higher SEQUENCE when the time changes, METHOD:CANCEL
when the meeting is cancelled or the invitation is. The event never holds the link or the
passcode: calendars are often shared, and those reach the invitee only in their emails (S1).
"""

from email.mime.base import MIMEBase
from email.mime.text import MIMEText
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from haven.invitations.models import Invitation

REQUEST = "REQUEST"
CANCEL = "CANCEL"


def event_uid(invitation: Invitation) -> str:
    """Stable for one invitee of one meeting, unique across every Haven."""
    domain = urlsplit(settings.BASE_URL).hostname or "haven.invalid"
    return f"{invitation.meeting.public_id}-{invitation.pk}@{domain}"


def calendar_for(invitation: Invitation, method: str) -> bytes:
    """The whole iCalendar object for this invitee, as the method asks."""
    calendar = Calendar()
    calendar.add("prodid", "-//Haven//Haven video meetings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    calendar.add_component(_event(invitation, method))
    ical: bytes = calendar.to_ical()
    return ical


def _event(invitation: Invitation, method: str) -> Event:
    meeting = invitation.meeting
    policy = meeting.policy
    event = Event()
    event.add("uid", event_uid(invitation))
    event.add("sequence", invitation.calendar_sequence)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", meeting.starts_at)
    event.add("dtend", meeting.ends_at)
    event.add("summary", meeting.title)
    event.add("location", vText(f"Online: {policy.organisation.name} on Haven"))
    event.add("description", _description(invitation, method))
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    organiser = vCalAddress(f"mailto:{policy.contact_email}")
    organiser.params["cn"] = vText(policy.organisation.name)
    event.add("organizer", organiser)
    attendee = vCalAddress(f"mailto:{invitation.email}")
    attendee.params["cn"] = vText(invitation.name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["rsvp"] = vText("FALSE")
    event.add("attendee", attendee)
    return event


def _description(invitation: Invitation, method: str) -> str:
    policy = invitation.meeting.policy
    if method == CANCEL:
        lines = ["This meeting is cancelled for you. The personal link no longer works."]
    else:
        lines = [
            "Use the personal link in your email from us, and the passcode from the "
            "separate email. They are not in this calendar entry.",
            "The meeting is not recorded.",
        ]
    lines += [f"Questions: {policy.contact_email}", f"Privacy policy: {policy.privacy_url}"]
    return "\n".join(lines)


def as_attachment(invitation: Invitation, method: str) -> MIMEBase:
    """A text/calendar part with its method, as mail clients expect for invitations."""
    part = MIMEText(calendar_for(invitation, method).decode("utf-8"), "calendar", "utf-8")
    part.set_param("method", method)
    part.add_header("Content-Disposition", "attachment", filename="meeting.ics")
    return part
