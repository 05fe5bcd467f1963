"""Write audit events. Every action function calls `record` inside its transaction."""

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from haven.audit.models import AuditChainHead, AuditEvent, AuditIdentity

if TYPE_CHECKING:
    from haven.accounts.models import User
    from haven.invitations.models import Invitation
    from haven.meetings.models import Meeting

GENESIS = "0" * 64


def pseudonym(email: str) -> str:
    """A stable pseudonym for a person, keyed by the server's secret."""
    return salted_hmac("haven.audit.pseudonym", email.strip().lower()).hexdigest()[:32]


@dataclass(frozen=True)
class Actor:
    """Who did something: a member of staff, an invitee, the system, or nobody known."""

    kind: str
    label: str
    email: str = ""
    user: "User | None" = None
    invitation: "Invitation | None" = None

    @classmethod
    def staff(cls, user: "User") -> "Actor":
        return cls("staff", f"{user.full_name} <{user.email}>", user.email, user=user)

    @classmethod
    def invitee(cls, invitation: "Invitation") -> "Actor":
        label = f"{invitation.name} <{invitation.email}>"
        return cls("attendee", label, invitation.email, invitation=invitation)

    @classmethod
    def system(cls) -> "Actor":
        return cls("system", "Haven")

    @classmethod
    def anonymous(cls, where: str) -> "Actor":
        return cls("anonymous", where)

    @property
    def ref(self) -> str:
        return pseudonym(self.email) if self.email else f"{self.kind}:{self.label}"[:64]


def _remember(identities: dict[str, tuple[str, str]]) -> None:
    """Who each pseudonym is (ref: label, email), in one statement however many: an
    insert that updates the rows already there. Audited actions are on the path of
    someone waiting, such as the person let in (bench/, issue 8)."""
    AuditIdentity.objects.bulk_create(
        [
            AuditIdentity(ref=ref, label=label, email=email)
            for ref, (label, email) in identities.items()
        ],
        update_conflicts=True,
        unique_fields=["ref"],
        update_fields=["label", "email"],
    )


def record(
    action: str,
    actor: Actor,
    *,
    meeting: "Meeting | None" = None,
    invitation: "Invitation | None" = None,
    **details: Any,
) -> AuditEvent:
    """Append one audit event to the chain."""
    # No savepoint inside the action's own transaction: if the audit fails, so does it.
    with transaction.atomic(savepoint=False):
        subject = invitation or actor.invitation
        subject_ref = pseudonym(subject.email) if subject is not None else ""
        identities = {actor.ref: (actor.label, actor.email)}
        if subject is not None:
            identities[subject_ref] = (f"{subject.name} <{subject.email}>", subject.email)
        _remember(identities)
        head = _chain_head()
        event = AuditEvent(
            at=timezone.now(),
            action=action,
            actor_kind=actor.kind,
            actor_ref=actor.ref,
            subject_ref=subject_ref,
            meeting_ref=str(meeting.public_id) if meeting is not None else "",
            details=details,
            prev_hash=head.last_hash,
            actor_user=actor.user,
            meeting=meeting,
            invitation=subject,
        )
        event.hash = event_hash(event)
        event.save()
        head.last_hash = event.hash
        head.save(update_fields=["last_hash"])
    return event


def _chain_head() -> AuditChainHead:
    """The chain's head, locked: appends happen one at a time, in order."""
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        head, _ = AuditChainHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS})
    return head


def event_hash(event: AuditEvent) -> str:
    """SHA-256 over the previous hash and this event's content, in a canonical form."""
    content = {
        "prev": event.prev_hash,
        "at": event.at.isoformat(),
        "action": event.action,
        "actor_kind": event.actor_kind,
        "actor_ref": event.actor_ref,
        "subject_ref": event.subject_ref,
        "meeting_ref": event.meeting_ref,
        "details": event.details,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """The first audit event whose hash does not match: changed, deleted or inserted."""

    event_id: int
    reason: str


def verify_chain() -> tuple[int, ChainBreak | None]:
    """Walk the whole chain; return how many events were checked and the first break."""
    expected_prev = GENESIS
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator():
        if event.prev_hash != expected_prev:
            return checked, ChainBreak(event.pk, "an event before it was changed or deleted")
        if event_hash(event) != event.hash:
            return checked, ChainBreak(event.pk, "its content was changed")
        expected_prev = event.hash
        checked += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and head.last_hash != expected_prev:
        return checked, ChainBreak(0, "the newest events were deleted")
    return checked, None
