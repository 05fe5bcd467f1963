"""Find who someone is in a meeting. Missing and forbidden look the same to the caller."""

import uuid
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from haven.accounts.models import User
from haven.accounts.permissions import Permission, has_permission
from haven.accounts.signin import staff_session_alive
from haven.audit.log import Actor
from haven.bans.models import is_excluded
from haven.consent.status import has_current_consent
from haven.invitations.models import Invitation
from haven.meetings.models import Meeting
from haven.policy.rules import Decision, Role

SESSION_INVITATION_KEY = "haven_invitation_id"


@dataclass(frozen=True)
class Identity:
    """A person entitled to this meeting's room: its staff host, or one invitee."""

    meeting: Meeting
    role: Role
    name: str
    user: User | None = None
    invitation: Invitation | None = None

    @property
    def actor(self) -> Actor:
        if self.user is not None:
            return Actor.staff(self.user)
        assert self.invitation is not None
        return Actor.invitee(self.invitation)


def access_room(user: Any, session: Any, meeting_id: str) -> Identity | None:
    """The identity of the person behind this request in this meeting, or None.

    Staff: only the meeting's own host (rule U1). Attendees: only through the invitation
    whose passcode they entered in this session, while it is neither revoked nor expired
    and its consent to the current house rules stands.
    """
    try:
        public_id = uuid.UUID(str(meeting_id))
    except ValueError:
        return None
    meeting = (
        Meeting.objects.select_related("host", "policy", "meeting_type")
        .filter(public_id=public_id)
        .first()
    )
    if meeting is None:
        return None
    if user is not None and user.is_authenticated:
        if user.pk != meeting.host_id or not _may_host(user, session):
            return None
        return Identity(meeting, Role.HOST, user.full_name, user=user)
    invitation_id = session.get(SESSION_INVITATION_KEY) if session is not None else None
    if invitation_id is None:
        return None
    invitation = Invitation.objects.filter(pk=invitation_id, meeting=meeting).first()
    if invitation is None or _invitation_withdrawn(invitation) is not None:
        return None
    return Identity(meeting, Role.ATTENDEE, invitation.name, invitation=invitation)


ACCESS_WITHDRAWN = Decision(
    False,
    "access_withdrawn",
    "You can no longer join this meeting. If you think this is wrong, contact the service.",
)


def withdrawn_because(identity: Identity) -> str | None:
    """Why this person may no longer enter the meeting's room, or None if they still may,
    read afresh (rules S1, S8, U1).

    A socket is opened once and lives on, and who may enter can change meanwhile: removed,
    banned, the link revoked or expired, consent voided, the host's staff role taken away.
    Every `join` (a resumed one too) asks again, as the socket's handshake did
    (access_room): one place for both.
    """
    if identity.user is not None:
        user = User.objects.filter(pk=identity.user.pk).first()
        meeting = Meeting.objects.filter(pk=identity.meeting.pk).first()
        if user is None or meeting is None or user.pk != meeting.host_id:
            return "not_host"
        if not (user.is_active and has_permission(user, Permission.HOST_MEETINGS)):
            return "not_host"
        return None
    assert identity.invitation is not None
    invitation = (
        Invitation.objects.select_related("meeting").filter(pk=identity.invitation.pk).first()
    )
    return "revoked" if invitation is None else _invitation_withdrawn(invitation)


def _invitation_withdrawn(invitation: Invitation) -> str | None:
    """Why an invitation no longer lets its person in, or None (rules S1, S8, G1)."""
    meeting = invitation.meeting
    if invitation.revoked_at is not None:
        return "revoked"
    if meeting.state == Meeting.State.ENDED:
        return "meeting_ended"
    if invitation.expires_at <= timezone.now():
        return "expired"
    if not has_current_consent(invitation):
        return "consent"
    if is_excluded(meeting.pk, meeting.organisation_id, invitation.email):
        return "removed_or_banned"
    return None


def _may_host(user: User, session: Any) -> bool:
    """Still active, still a host, and signed in with a staff session that has not timed
    out (the WebSocket has no middleware to check that, rules U1 and ASVS 7.3)."""
    key = getattr(session, "session_key", None)
    return (
        user.is_active
        and has_permission(user, Permission.HOST_MEETINGS)
        and staff_session_alive(key)
    )


def invitation_is_usable(invitation: Invitation) -> bool:
    """A link works until it is revoked, it expires, or its meeting ends (rule S1), and
    only while its consent counts: after the host changes the house rules, nobody enters
    until they have agreed again (rule G1). Nor once its person is removed or banned (S8)."""
    return _invitation_withdrawn(invitation) is None
