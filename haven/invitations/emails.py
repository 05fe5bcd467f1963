"""The emails that carry a personal link and, separately, its passcode (rule S1)."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from haven.audit.log import Actor, record
from haven.invitations.models import Invitation


def send_access_emails(invitation: Invitation, token: str, passcode: str) -> None:
    """Send the link and the passcode in two emails, so one alone does not let anyone in."""
    meeting = invitation.meeting
    link = settings.BASE_URL + reverse("invitations:enter", kwargs={"token": token})
    context = {
        "invitation": invitation,
        "meeting": meeting,
        "policy": meeting.policy,
        "host": meeting.host,
        "link": link,
        "passcode": passcode,
    }
    _send(invitation, "link", f"Your link for “{meeting.title}”", context)
    _send(invitation, "passcode", f"Your passcode for “{meeting.title}”", context)


def _send(invitation: Invitation, kind: str, subject: str, context: dict[str, object]) -> None:
    text = render_to_string(f"invitations/email/{kind}.txt", context)
    html = render_to_string(f"invitations/email/{kind}.html", context)
    message = EmailMultiAlternatives(subject, text, to=[invitation.email])
    message.attach_alternative(html, "text/html")
    message.send()
    # The audit row says what was sent, to whom and when; never the passcode itself.
    record(
        "email.sent", Actor.system(), meeting=invitation.meeting, invitation=invitation, kind=kind
    )
