"""Write audit events. Every action function calls `record` inside its transaction."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from haven.audit.models import AuditEvent

if TYPE_CHECKING:
    from haven.accounts.models import User
    from haven.invitations.models import Invitation
    from haven.meetings.models import Meeting


@dataclass(frozen=True)
class Actor:
    """Who did something: a member of staff, an invitee, the system, or nobody known."""

    kind: str
    label: str
    user: "User | None" = None
    invitation: "Invitation | None" = None

    @classmethod
    def staff(cls, user: "User") -> "Actor":
        return cls("staff", f"{user.full_name} <{user.email}>", user=user)

    @classmethod
    def invitee(cls, invitation: "Invitation") -> "Actor":
        return cls("attendee", f"{invitation.name} <{invitation.email}>", invitation=invitation)

    @classmethod
    def system(cls) -> "Actor":
        return cls("system", "Haven")

    @classmethod
    def anonymous(cls, where: str) -> "Actor":
        return cls("anonymous", where)


def record(
    action: str,
    actor: Actor,
    *,
    meeting: "Meeting | None" = None,
    invitation: "Invitation | None" = None,
    **details: Any,
) -> AuditEvent:
    """Append one audit event."""
    return AuditEvent.objects.create(
        action=action,
        actor_kind=actor.kind,
        actor_label=actor.label,
        actor_user=actor.user,
        meeting=meeting,
        invitation=invitation or actor.invitation,
        details=details,
    )
