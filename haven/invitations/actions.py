"""Inviting people, changing and cancelling invitations, and checking passcodes.

Inviting sends the house rules and a consent link, never the access link: that is made
and sent only once consent is recorded (rules G1, U3, U4; see haven/consent/actions.py).
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from haven.accounts.models import User
from haven.audit.log import Actor, record
from haven.bans.models import is_excluded
from haven.consent.actions import request_consent, void_consents
from haven.consent.models import ConsentRequest
from haven.consent.status import has_current_consent
from haven.invitations import emails, guessing, links
from haven.invitations import secrets as link_secrets
from haven.invitations.models import Invitation, PasscodeAddress, Role
from haven.meetings.models import Meeting


class InvitationError(Exception):
    """The invitation could not be made or changed; the message says why in plain words."""


@dataclass(frozen=True)
class Invitee:
    """Who is invited, as the host describes them (rules U2, U3, U5)."""

    name: str
    email: str
    role: str
    parent_name: str = ""
    parent_email: str = ""
    needs_supervision: bool = False


def _check_host(host: User, meeting: Meeting) -> None:
    if meeting.host_id != host.pk:
        raise InvitationError("Only the meeting's host can change who is invited.")
    if not meeting.is_open:
        raise InvitationError("This meeting has ended or is cancelled. Schedule a new one.")


def _check_invitee(invitee: Invitee) -> None:
    """The action checks what the form checks, so no entry point can skip it (U3)."""
    if invitee.role not in Role.values:
        raise InvitationError("Choose who the person is: professional, parent or carer, ...")
    if invitee.role == Role.CHILD and not (invitee.parent_name and invitee.parent_email):
        raise InvitationError(
            "A child under 16 needs a parent or carer's name and email address: "
            "the parent or carer is asked for consent."
        )


@transaction.atomic
def do_invite(
    host: User,
    meeting: Meeting,
    *,
    name: str,
    email: str,
    role: str,
    parent_name: str = "",
    parent_email: str = "",
    needs_supervision: bool = False,
) -> Invitation:
    """Invite one person: they (or their parent or carer) get the house rules and a
    consent link. Their personal link and passcode come only after consent (G1, U3)."""
    invitee = Invitee(name, email, role, parent_name, parent_email, needs_supervision)
    _check_host(host, meeting)
    _check_invitee(invitee)
    if is_excluded(meeting.pk, meeting.organisation_id, email):
        # Rule S8: removed from this meeting, or banned until a coordinator lifts it.
        raise InvitationError(
            f"{email} cannot be invited: they were removed from this meeting or are banned "
            "from the service's meetings. A coordinator can lift a ban."
        )
    is_child = role == Role.CHILD
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                meeting=meeting,
                name=name,
                email=email,
                role=role,
                parent_name=parent_name if is_child else "",
                parent_email=parent_email if is_child else "",
                needs_supervision=needs_supervision,
                expires_at=links.link_expiry(meeting),
                invited_by=host,
            )
    except IntegrityError:
        raise InvitationError(f"{email} is already invited to this meeting.") from None
    actor = Actor.staff(host)
    record(
        "invitation.created",
        actor,
        meeting=meeting,
        invitation=invitation,
        role=role,
        needs_supervision=invitation.needs_supervising_adult,
    )
    request_consent(invitation, ConsentRequest.Reason.INVITED, actor)
    return invitation


# What, if changed, means the consent given no longer fits: who consents (role, parent),
# or whether a supervising adult must be named.
CONSENT_FIELDS = ("role", "parent_email", "needs_supervision")


@transaction.atomic
def do_change_invitation(
    host: User,
    invitation: Invitation,
    *,
    name: str,
    role: str,
    parent_name: str = "",
    parent_email: str = "",
    needs_supervision: bool = False,
) -> list[str]:
    """Change who is invited; returns the fields that changed.

    A change to who consents, or to supervision, voids earlier consent and asks again.
    The email address cannot change: cancel and invite again instead.
    """
    invitation = Invitation.objects.select_for_update(no_key=True).get(pk=invitation.pk)
    _check_host(host, invitation.meeting)
    _check_invitee(Invitee(name, invitation.email, role, parent_name, parent_email))
    if invitation.revoked_at is not None:
        raise InvitationError("This invitation is cancelled. Invite the person again.")
    is_child = role == Role.CHILD
    wanted = {
        "name": name,
        "role": role,
        "parent_name": parent_name if is_child else "",
        "parent_email": parent_email if is_child else "",
        "needs_supervision": needs_supervision,
    }
    changed = [field for field, value in wanted.items() if getattr(invitation, field) != value]
    if not changed:
        return []
    for field in changed:
        setattr(invitation, field, wanted[field])
    try:
        with transaction.atomic():
            invitation.save(update_fields=changed)
    except IntegrityError:
        raise InvitationError(f"{invitation.email} is already invited as someone else.") from None
    actor = Actor.staff(host)
    record(
        "invitation.changed",
        actor,
        meeting=invitation.meeting,
        invitation=invitation,
        fields=changed,
    )
    if any(field in CONSENT_FIELDS for field in changed):
        void_consents(invitation)
        request_consent(invitation, ConsentRequest.Reason.INVITATION_CHANGED, actor)
    return changed


@transaction.atomic
def do_resend(host: User, invitation: Invitation) -> str:
    """Send again what the person is waiting for: the consent link, or a new link and
    passcode (the old ones stop working). Returns "consent" or "access"."""
    invitation = Invitation.objects.select_for_update(no_key=True).get(pk=invitation.pk)
    _check_host(host, invitation.meeting)
    if invitation.revoked_at is not None:
        raise InvitationError("This invitation is cancelled. Invite the person again.")
    actor = Actor.staff(host)
    if not has_current_consent(invitation):
        record(
            "invitation.resent",
            actor,
            meeting=invitation.meeting,
            invitation=invitation,
            what="consent",
        )
        request_consent(invitation, ConsentRequest.Reason.RESENT, actor)
        return "consent"
    record(
        "invitation.resent", actor, meeting=invitation.meeting, invitation=invitation, what="access"
    )
    links.issue_access(invitation)
    return "access"


@transaction.atomic
def do_unlock_passcode(host: User, invitation: Invitation) -> bool:
    """The host lifts the pause on a link after wrong passcodes (rule S1), for someone
    they know is the right person (they phoned the service, say). Their count starts
    again; the pause per client address (guessing.py) is not the host's to lift.
    Returns whether the link was paused."""
    invitation = Invitation.objects.select_for_update(no_key=True).get(pk=invitation.pk)
    _check_host(host, invitation.meeting)
    now = timezone.now()
    paused = invitation.passcode_locked_until is not None and invitation.passcode_locked_until > now
    if paused:
        record(
            "passcode.unlocked",
            Actor.staff(host),
            meeting=invitation.meeting,
            invitation=invitation,
            was_locked_until=invitation.passcode_locked_until.isoformat(),  # type: ignore[union-attr]
        )
    invitation.passcode_failures = 0
    invitation.passcode_locked_until = None
    invitation.save(update_fields=["passcode_failures", "passcode_locked_until"])
    return paused


@dataclass(frozen=True)
class PasscodeResult:
    accepted: bool
    locked_until: dt.datetime | None = None
    # Set when the client's address is paused (guessing across links): not looked at.
    address_pause: guessing.AddressPause | None = None


@transaction.atomic
def do_check_passcode(invitation_id: int, typed: str, address: str) -> PasscodeResult:
    """Check a typed passcode (6 digits: the caller refuses anything else uncounted).

    Wrong tries are limited per link (it pauses) and per client address over all links
    (rule S1, haven/invitations/guessing.py): while the address is paused, no try from it
    is looked at.
    """
    now = timezone.now()
    held = guessing.hold(address, now)
    pause = guessing.current_pause(held, now)
    invitation = Invitation.objects.select_for_update(no_key=True).get(pk=invitation_id)
    actor = Actor.invitee(invitation)
    if pause is not None:
        record("passcode.refused_address_paused", actor, meeting=invitation.meeting)
        return PasscodeResult(False, address_pause=pause)
    if invitation.passcode_locked_until and invitation.passcode_locked_until > now:
        record("passcode.refused_locked", actor, meeting=invitation.meeting)
        return PasscodeResult(False, invitation.passcode_locked_until)
    if invitation.passcode_hash and link_secrets.passcode_matches(typed, invitation.passcode_hash):
        invitation.passcode_failures = 0
        invitation.passcode_locked_until = None
        invitation.save(update_fields=["passcode_failures", "passcode_locked_until"])
        # The address's count stays: everyone behind it shares it (guessing.py says why).
        record("passcode.accepted", actor, meeting=invitation.meeting)
        return PasscodeResult(True)
    return _wrong_passcode(invitation, actor, now, held)


def _wrong_passcode(
    invitation: Invitation, actor: Actor, now: dt.datetime, held: PasscodeAddress
) -> PasscodeResult:
    invitation.passcode_failures += 1
    locked_until = None
    if invitation.passcode_failures >= settings.HAVEN_PASSCODE_MAX_FAILURES:
        locked_until = now + dt.timedelta(minutes=settings.HAVEN_PASSCODE_LOCKOUT_MINUTES)
        invitation.passcode_failures = 0
    invitation.passcode_locked_until = locked_until
    invitation.save(update_fields=["passcode_failures", "passcode_locked_until"])
    address_pause = guessing.note_wrong_try(held, now)
    record(
        "passcode.wrong",
        actor,
        meeting=invitation.meeting,
        locked_until=locked_until.isoformat() if locked_until else None,
        address_paused_until=address_pause.until.isoformat() if address_pause else None,
    )
    return PasscodeResult(False, locked_until, address_pause)


@transaction.atomic
def do_revoke(host: User, invitation: Invitation) -> None:
    """Cancel an invitation at once (rule S1): its links stop working, and its calendar
    event is cancelled (METHOD:CANCEL)."""
    invitation = Invitation.objects.select_for_update(no_key=True).get(pk=invitation.pk)
    if invitation.meeting.host_id != host.pk:
        raise InvitationError("Only the meeting's host can cancel its invitations.")
    if invitation.revoked_at is not None:
        return
    invitation.revoked_at = timezone.now()
    invitation.calendar_sequence += 1
    invitation.save(update_fields=["revoked_at", "calendar_sequence"])
    record(
        "invitation.revoked", Actor.staff(host), meeting=invitation.meeting, invitation=invitation
    )
    transaction.on_commit(lambda: emails.send_cancelled(invitation, whole_meeting=False))
