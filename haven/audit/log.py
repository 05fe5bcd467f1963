"""Write audit events. Every action function calls `record` inside its transaction."""

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from haven.audit.models import AuditAnchor, AuditChainHead, AuditEvent, AuditIdentity

if TYPE_CHECKING:
    from haven.accounts.models import User
    from haven.invitations.models import Invitation
    from haven.meetings.models import Meeting

GENESIS = "0" * 64
# One line per audited action once it is committed: the action, the kind of actor and the
# meeting's public id; never who (the audit log's pseudonyms stay in the database).
logger = logging.getLogger("haven.audit")


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
        transaction.on_commit(
            lambda: logger.info(
                "audit %s",
                action,
                extra={"event": action, "actor_kind": actor.kind, "meeting": event.meeting_ref},
            )
        )
    return event


def _chain_head() -> AuditChainHead:
    """The chain's head, locked: appends happen one at a time, in order.

    The row lock serialises appends on PostgreSQL (SQLite's writers queue for the whole
    database anyway). The very first append creates the row; one racing it waits on the
    insert, then locks the row it made and reads the hash it wrote.
    """
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditChainHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS})
        head = AuditChainHead.objects.select_for_update().get(pk=1)
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
    """Walk the whole chain; return how many events were checked and the first break.

    Once old events have been destroyed (rule D3) the chain starts at the anchor: the hash
    of the newest destroyed event, which the newest `audit.expired` event also seals. The
    server may append meanwhile: the walk ends at the head read before it. If old events
    were destroyed meanwhile, the walk starts again from the new anchor.
    """
    for _attempt in range(3):
        anchor = AuditAnchor.objects.filter(pk=1).first()
        head = AuditChainHead.objects.filter(pk=1).first()
        checked, broken = _verify(anchor, head)
        now_anchored = AuditAnchor.objects.filter(pk=1).values_list("last_hash", flat=True)
        if broken is None or list(now_anchored) == ([anchor.last_hash] if anchor else []):
            break
    return checked, broken


def _verify(
    anchor: AuditAnchor | None, head: AuditChainHead | None
) -> tuple[int, ChainBreak | None]:
    # The head was read before the walk: events appended since come after it.
    until = head.last_hash if head is not None else None
    walk = _walk(anchor.last_hash if anchor else GENESIS, until=until)
    if walk.broken is not None:
        return walk.checked, walk.broken
    if head is not None and not walk.reached:
        return walk.checked, ChainBreak(0, "the newest events were deleted")
    if anchor is not None:
        sealed = AuditEvent.objects.filter(action=EXPIRED).order_by("-id").first()
        if sealed is None or sealed.details.get("anchor") != anchor.last_hash:
            where = sealed.pk if sealed is not None else 0
            return walk.checked, ChainBreak(where, "the record of destroyed old events was changed")
    return walk.checked, None


@dataclass
class _Walk:
    checked: int = 0
    broken: ChainBreak | None = None
    last_hash: str = ""
    reached: bool = False


def _walk(expected_prev: str, before: dt.datetime | None = None, until: str | None = None) -> _Walk:
    """Check events in order from the start (only those older than `before`, if given);
    note whether the chain passed through the hash `until`."""
    walk = _Walk(last_hash=expected_prev, reached=expected_prev == until)
    for event in AuditEvent.objects.order_by("id").iterator():
        if before is not None and event.at >= before:
            break
        if event.prev_hash != walk.last_hash:
            walk.broken = ChainBreak(event.pk, "an event before it was changed or deleted")
            return walk
        if event_hash(event) != event.hash:
            walk.broken = ChainBreak(event.pk, "its content was changed")
            return walk
        walk.last_hash = event.hash
        walk.reached = walk.reached or event.hash == until
        walk.checked += 1
    return walk


EXPIRED = "audit.expired"


class ExpiryRefused(Exception):
    """Old events were not destroyed: the part of the chain to destroy does not verify."""

    def __init__(self, broken: ChainBreak) -> None:
        super().__init__(f"entry {broken.event_id}: {broken.reason}")
        self.broken = broken


def expire_events(before: dt.datetime) -> int:
    """Destroy the audit events older than `before` (rule D3), keeping the chain verifiable.

    Only the oldest events go (the chain's start, up to the first newer event), and only
    if they verify: tampering is never hidden by destroying it. The hash of the newest
    destroyed event becomes the chain's anchor, recorded in AuditAnchor and sealed into
    the chain by an `audit.expired` event.
    """
    with transaction.atomic():
        _chain_head()  # locked: nothing is appended meanwhile
        anchor = AuditAnchor.objects.select_for_update().filter(pk=1).first()
        walk = _walk(anchor.last_hash if anchor else GENESIS, before)
        if walk.broken is not None:
            raise ExpiryRefused(walk.broken)
        count = walk.checked
        if count == 0:
            return 0
        last = AuditEvent.objects.get(hash=walk.last_hash)
        AuditEvent.objects.filter(id__lte=last.pk).delete()
        total = (anchor.destroyed_count if anchor else 0) + count
        AuditAnchor.objects.update_or_create(
            pk=1,
            defaults={
                "through_id": last.pk,
                "last_hash": last.hash,
                "destroyed_count": total,
                "updated_at": timezone.now(),
            },
        )
        record(EXPIRED, Actor.system(), count=count, through_id=last.pk, anchor=last.hash)
    return count


def expire_identities(before: dt.datetime) -> int:
    """Forget who a pseudonym is once no event since `before` names them (rule D3).

    Their older events stay in the log, pseudonymous only.
    """
    recent = AuditEvent.objects.filter(at__gte=before)
    forgotten = AuditIdentity.objects.exclude(ref__in=recent.values("actor_ref")).exclude(
        ref__in=recent.values("subject_ref")
    )
    deleted, _ = forgotten.delete()
    return deleted
