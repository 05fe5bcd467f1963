"""Personal links and passcodes are made only when they are sent, after consent (G1, S1)."""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from haven.invitations import emails
from haven.invitations import secrets as link_secrets
from haven.invitations.models import Invitation
from haven.meetings.models import Meeting

logger = logging.getLogger(__name__)

# A link works until this long after the meeting's start, unless it ends sooner.
LINK_LIFETIME_AFTER_START = dt.timedelta(hours=12)


def link_expiry(meeting: Meeting) -> dt.datetime:
    """When links and consent links for this meeting stop working: after the meeting."""
    return max(meeting.starts_at + LINK_LIFETIME_AFTER_START, meeting.ends_at)


def issue_access(invitation: Invitation) -> None:
    """Make a new link and passcode and email them once the transaction commits.

    Any earlier link and passcode stop working at once. Call inside the caller's atomic
    block, after consent has been recorded.
    """
    token, passcode = link_secrets.new_link_token(), link_secrets.new_passcode()
    invitation.link_token_sha256 = link_secrets.hash_link_token(token)
    invitation.passcode_hash = link_secrets.hash_passcode(passcode)
    invitation.passcode_failures = 0
    invitation.passcode_locked_until = None
    invitation.save(
        update_fields=[
            "link_token_sha256",
            "passcode_hash",
            "passcode_failures",
            "passcode_locked_until",
        ]
    )
    # Sent after commit, so a failed transaction never leaves a working link in an inbox.
    transaction.on_commit(lambda: _send_and_mark(invitation, token, passcode))


def _send_and_mark(invitation: Invitation, token: str, passcode: str) -> None:
    if emails.send_access_emails(invitation, token, passcode):
        Invitation.objects.filter(pk=invitation.pk).update(access_sent_at=timezone.now())
    else:
        logger.warning("The access emails for invitation %s were not sent.", invitation.pk)
