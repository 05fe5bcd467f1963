"""Email a document to people invited to a meeting (rule S4).

Documents never go through the meeting: the host chooses people invited, and Haven emails
the file to each of them (for a child, also to their parent or carer) with its normal
layout: the policy contact and the privacy notice. The file is not kept anywhere; the
audit log records, for each person it reached, its name, size and SHA-256.
"""

import datetime as dt
import hashlib
import logging
import smtplib
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import render_to_string
from django.utils import timezone

from haven.accounts.models import User
from haven.accounts.permissions import Permission, has_permission
from haven.audit.log import Actor, record
from haven.audit.models import AuditEvent
from haven.documents.filetypes import Kind
from haven.invitations.emails import recipient_role
from haven.invitations.models import Invitation
from haven.mail.sender import sender
from haven.meetings.models import Meeting
from haven.policy import rules

logger = logging.getLogger(__name__)


class DocumentError(Exception):
    """The document cannot be sent; the message says why, in plain words."""


@dataclass(frozen=True)
class Document:
    """A checked document, held in memory only while it is sent."""

    name: str
    content: bytes
    kind: Kind

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    def described(self) -> dict[str, Any]:
        """What the audit log keeps of it: never its content. Its name is the host's free
        text (it may name someone): an erasable note outside the chain (`noted`, D4, D5)."""
        return {"size": len(self.content), "sha256": self.sha256}

    def noted(self) -> dict[str, str]:
        return {"name": self.name}


@dataclass
class Outcome:
    """Whom the document reached, and whom it did not."""

    sent: list[Invitation] = field(default_factory=list)
    failed: list[Invitation] = field(default_factory=list)


def recent_document_emails(host: User) -> int:
    """How many people this host has emailed a document in the last hour."""
    since = timezone.now() - dt.timedelta(hours=1)
    return AuditEvent.objects.filter(action="document.sent", actor_user=host, at__gte=since).count()


def do_send_document(
    host: User, meeting: Meeting, invitations: list[Invitation], document: Document
) -> Outcome:
    """Email the document to each chosen invitee; audit who it reached and who it did not."""
    if not has_permission(host, Permission.SEND_DOCUMENTS) or meeting.host_id != host.pk:
        raise DocumentError("Only the meeting's host can send documents to its people.")
    decision = rules.may_email_document(rules.MeetingState(meeting.state))
    if not decision:
        raise DocumentError(decision.message)
    if any(
        invitation.meeting_id != meeting.pk or invitation.revoked_at for invitation in invitations
    ):
        raise DocumentError("Choose only people invited to this meeting.")
    limit = settings.HAVEN_DOCUMENT_EMAILS_PER_HOUR
    if recent_document_emails(host) + len(invitations) > limit:
        raise DocumentError(
            f"You can email documents to {limit} people an hour. Please try again later."
        )
    outcome = Outcome()
    connection = get_connection()
    try:
        connection.open()
    except (smtplib.SMTPException, OSError) as error:
        logger.error("Could not reach the mail server to send a document: %s", error)
        outcome.failed = list(invitations)
    else:
        try:
            for invitation in invitations:
                reached = _send_to(connection, invitation, document)
                (outcome.sent if reached else outcome.failed).append(invitation)
        finally:
            connection.close()
    for invitation in outcome.sent:
        addresses = [recipient_role(invitation, to) for to in addresses_for(invitation)]
        record(
            "document.sent",
            Actor.staff(host),
            meeting=meeting,
            invitation=invitation,
            to=addresses,
            notes=document.noted(),
            **document.described(),
        )
    for invitation in outcome.failed:
        record(
            "document.failed",
            Actor.staff(host),
            meeting=meeting,
            invitation=invitation,
            notes=document.noted(),
            **document.described(),
        )
    return outcome


def addresses_for(invitation: Invitation) -> list[str]:
    """The invitee; for a child, their parent or carer too (as with every notice)."""
    addresses = [invitation.email]
    if invitation.is_child and invitation.parent_email not in ("", invitation.email):
        addresses.append(invitation.parent_email)
    return addresses


def _send_to(connection: BaseEmailBackend, invitation: Invitation, document: Document) -> bool:
    """True only when every address of this person accepted the email."""
    for address in addresses_for(invitation):
        message = _message(invitation, document, address)
        try:
            sent = connection.send_messages([message])
        except (smtplib.SMTPException, OSError) as error:
            logger.error("Could not email a document for invitation %s: %s", invitation.pk, error)
            return False
        if not sent:
            return False
    return True


def _message(invitation: Invitation, document: Document, to: str) -> EmailMultiAlternatives:
    meeting = invitation.meeting
    context = {
        "invitation": invitation,
        "meeting": meeting,
        "policy": meeting.policy,
        "organisation": meeting.policy.organisation,
        "host": meeting.host,
        "notice_url": settings.BASE_URL + meeting.policy.notice_path(),
        "recipient": to,
        "for_child": to != invitation.email,
        "document_name": document.name,
    }
    text = render_to_string("documents/email/document.txt", context)
    html = render_to_string("documents/email/document.html", context)
    subject = " ".join(f"A document for “{meeting.title}”".split())
    message = EmailMultiAlternatives(
        subject, text, from_email=sender(meeting.policy.organisation), to=[to]
    )
    message.attach_alternative(html, "text/html")
    message.attach(document.name, document.content, document.kind.mime_type)
    return message
