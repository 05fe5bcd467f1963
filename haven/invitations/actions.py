"""Inviting people, and checking the passcode they type on their personal link."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from haven.accounts.models import User
from haven.audit.log import Actor, record
from haven.invitations import emails
from haven.invitations import secrets as link_secrets
from haven.invitations.models import Invitation
from haven.meetings.models import Meeting

# A link works until this long after the meeting's start, unless it ends sooner.
LINK_LIFETIME_AFTER_START = dt.timedelta(hours=12)


class InvitationError(Exception):
    """The invitation could not be made; the message says why in plain words."""


@transaction.atomic
def do_invite(host: User, meeting: Meeting, *, name: str, email: str, role: str) -> Invitation:
    """Invite one person: their link and their passcode go in two separate emails (S1)."""
    if meeting.host_id != host.pk:
        raise InvitationError("Only the meeting's host can invite people to it.")
    if meeting.state == Meeting.State.ENDED:
        raise InvitationError("This meeting has ended. Schedule a new one.")
    token, passcode = link_secrets.new_link_token(), link_secrets.new_passcode()
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                meeting=meeting,
                name=name,
                email=email,
                role=role,
                link_token_sha256=link_secrets.hash_link_token(token),
                passcode_hash=link_secrets.hash_passcode(passcode),
                expires_at=meeting.starts_at + LINK_LIFETIME_AFTER_START,
                invited_by=host,
            )
    except IntegrityError:
        raise InvitationError(f"{email} is already invited to this meeting.") from None
    record("invitation.created", Actor.staff(host), meeting=meeting, invitation=invitation)
    # Sent after commit, so a failed transaction never leaves a working link in someone's inbox.
    transaction.on_commit(lambda: emails.send_access_emails(invitation, token, passcode))
    return invitation


@dataclass(frozen=True)
class PasscodeResult:
    accepted: bool
    locked_until: dt.datetime | None = None


@transaction.atomic
def do_check_passcode(invitation_id: int, typed: str) -> PasscodeResult:
    """Check a typed passcode. After too many wrong tries the link waits (rate limit)."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation_id)
    actor = Actor.invitee(invitation)
    now = timezone.now()
    if invitation.passcode_locked_until and invitation.passcode_locked_until > now:
        record("passcode.refused_locked", actor, meeting=invitation.meeting)
        return PasscodeResult(False, invitation.passcode_locked_until)
    if link_secrets.passcode_matches(typed, invitation.passcode_hash):
        invitation.passcode_failures = 0
        invitation.passcode_locked_until = None
        invitation.save(update_fields=["passcode_failures", "passcode_locked_until"])
        record("passcode.accepted", actor, meeting=invitation.meeting)
        return PasscodeResult(True)
    return _wrong_passcode(invitation, actor, now)


def _wrong_passcode(invitation: Invitation, actor: Actor, now: dt.datetime) -> PasscodeResult:
    invitation.passcode_failures += 1
    locked_until = None
    if invitation.passcode_failures >= settings.HAVEN_PASSCODE_MAX_FAILURES:
        locked_until = now + dt.timedelta(minutes=settings.HAVEN_PASSCODE_LOCKOUT_MINUTES)
        invitation.passcode_failures = 0
    invitation.passcode_locked_until = locked_until
    invitation.save(update_fields=["passcode_failures", "passcode_locked_until"])
    record(
        "passcode.wrong",
        actor,
        meeting=invitation.meeting,
        locked_until=locked_until.isoformat() if locked_until else None,
    )
    return PasscodeResult(False, locked_until)


@transaction.atomic
def do_revoke(host: User, invitation: Invitation) -> None:
    """Cancel a personal link at once (rule S1). It cannot be used again."""
    if invitation.meeting.host_id != host.pk:
        raise InvitationError("Only the meeting's host can cancel its invitations.")
    if invitation.revoked_at is not None:
        return
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    record(
        "invitation.revoked", Actor.staff(host), meeting=invitation.meeting, invitation=invitation
    )
