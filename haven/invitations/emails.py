"""Every email Haven sends to invitees (rules S1, G1, D2).

Each has a plain-text and an HTML part, names the policy contact address and links to
Haven's privacy notice and the organisation's privacy policy (all from the base
templates), and is audited as `email.sent` with its kind and recipient, never its secrets.
A failed send is audited as `email.failed`.
"""

import logging
import smtplib
from email.mime.base import MIMEBase

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from haven.audit.log import Actor, record
from haven.invitations import calendar
from haven.invitations.models import Invitation
from haven.mail.sender import sender
from haven.meetings.models import HouseRules

logger = logging.getLogger(__name__)


def _context(invitation: Invitation, **extra: object) -> dict[str, object]:
    meeting = invitation.meeting
    return {
        "invitation": invitation,
        "meeting": meeting,
        "policy": meeting.policy,
        "organisation": meeting.policy.organisation,
        "host": meeting.host,
        # The notice of the policy version this meeting records (rules D1, D2, P1).
        "notice_url": settings.BASE_URL + meeting.policy.notice_path(),
        **extra,
    }


def send_consent_request(
    invitation: Invitation, rules: HouseRules, link: str, *, again: bool
) -> bool:
    """The house rules and a consent link, never the access link (rule G1).

    For a child it goes to their parent or carer, who consents for them (rule U3).
    """
    title = invitation.meeting.title
    if again:
        subject = f"House rules for “{title}”: please agree again"
    elif invitation.is_child:
        subject = f"House rules for “{title}”: your consent for {invitation.name}"
    else:
        subject = f"House rules for “{title}”: please read and agree"
    context = _context(invitation, rules=rules, link=link, again=again)
    return _send(invitation, "consent_request", subject, context, invitation.consent_email)


def send_access_emails(invitation: Invitation, token: str, passcode: str) -> bool:
    """Send the link and the passcode in two emails, so one alone does not let anyone in.

    The link's email carries the calendar event (METHOD:REQUEST).
    """
    title = invitation.meeting.title
    link = settings.BASE_URL + reverse("invitations:enter", kwargs={"token": token})
    context = _context(invitation, link=link, passcode=passcode)
    event = calendar.as_attachment(invitation, calendar.REQUEST)
    sent_link = _send(
        invitation, "link", f"Your link for “{title}”", context, invitation.email, event
    )
    sent_code = _send(
        invitation, "passcode", f"Your passcode for “{title}”", context, invitation.email
    )
    return sent_link and sent_code


def send_meeting_changed(invitation: Invitation) -> None:
    """The new time; with the link's calendar event updated (higher SEQUENCE)."""
    subject = f"New time for “{invitation.meeting.title}”"
    for address, with_calendar in notice_recipients(invitation):
        event = calendar.as_attachment(invitation, calendar.REQUEST) if with_calendar else None
        context = _context(invitation, with_calendar=with_calendar)
        _send(invitation, "meeting_changed", subject, context, address, event)


def send_cancelled(invitation: Invitation, *, whole_meeting: bool) -> None:
    """The meeting, or this person's invitation, is cancelled (METHOD:CANCEL)."""
    title = invitation.meeting.title
    kind = "meeting_cancelled" if whole_meeting else "invitation_cancelled"
    subject = f"Cancelled: “{title}”"
    for address, with_calendar in notice_recipients(invitation):
        event = calendar.as_attachment(invitation, calendar.CANCEL) if with_calendar else None
        context = _context(invitation, whole_meeting=whole_meeting)
        _send(invitation, kind, subject, context, address, event)


def notice_recipients(invitation: Invitation) -> list[tuple[str, bool]]:
    """Who hears about a change, and whether their email carries the calendar event.

    The invitee once they have their link (it came with the event); before that, whoever
    was asked for consent. A child's parent or carer always hears.
    """
    recipients: list[tuple[str, bool]] = []
    if invitation.access_sent_at is not None:
        recipients.append((invitation.email, True))
    asked = invitation.consent_email
    already = {address for address, _ in recipients}
    if (invitation.access_sent_at is None or invitation.is_child) and asked not in already:
        recipients.append((asked, False))
    return recipients


def _send(
    invitation: Invitation,
    kind: str,
    subject: str,
    context: dict[str, object],
    to: str,
    attachment: MIMEBase | None = None,
) -> bool:
    context = {**context, "recipient": to, **reader(invitation, to)}
    text = render_to_string(f"invitations/email/{kind}.txt", context)
    html = render_to_string(f"invitations/email/{kind}.html", context)
    # Names and titles come from forms; a header never carries a line break.
    message = EmailMultiAlternatives(
        " ".join(subject.split()),
        text,
        from_email=sender(invitation.meeting.policy.organisation),
        to=[to],
    )
    message.attach_alternative(html, "text/html")
    if attachment is not None:
        message.attach(attachment)
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        logger.error("Could not send a %s email for invitation %s: %s", kind, invitation.pk, error)
        record(
            "email.failed",
            Actor.system(),
            meeting=invitation.meeting,
            invitation=invitation,
            kind=kind,
            to=recipient_role(invitation, to),
            error=type(error).__name__,
        )
        return False
    # The audit row says what was sent, to whom and when; never a link or a passcode, and
    # no address: the log names people only by pseudonym (the invitation is its subject).
    record(
        "email.sent",
        Actor.system(),
        meeting=invitation.meeting,
        invitation=invitation,
        kind=kind,
        to=recipient_role(invitation, to),
    )
    return True


def reader(invitation: Invitation, address: str) -> dict[str, object]:
    """Whom to greet: the person who reads the email. A child's emails that go to their
    parent or carer's address greet the parent or carer, and speak of the child by name."""
    for_child = invitation.is_child and address.lower() == invitation.parent_email.lower()
    return {
        "reader_name": invitation.parent_name if for_child else invitation.name,
        "for_child": for_child,
    }


def recipient_role(invitation: Invitation, address: str) -> str:
    """Whom of the invitation an email went to, without naming them."""
    return "invitee" if address == invitation.email else "parent_carer"
