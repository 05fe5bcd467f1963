"""Write audit events. Every action function calls `record` inside its transaction."""

import datetime as dt
import hashlib
import json
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from haven.audit.models import (
    AuditAnchor,
    AuditChainHead,
    AuditCheckpoint,
    AuditEvent,
    AuditIdentity,
    AuditNote,
)

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
    notes: dict[str, str] | None = None,
    about: str = "",
    **details: Any,
) -> AuditEvent:
    """Append one audit event to the chain.

    Free text (a reason in someone's own words, a file's name) goes in `notes`, never in
    `details`: each is kept as an erasable AuditNote, and the chained details hold only
    its id and commitment (rules D4, D5). `about` is the pseudonym of whom the notes are
    about when that is not the event's subject (a ban lifted, a person erased).
    """
    # No savepoint inside the action's own transaction: if the audit fails, so does it.
    with transaction.atomic(savepoint=False):
        subject = invitation or actor.invitation
        subject_ref = pseudonym(subject.email) if subject is not None else ""
        if notes:
            organisation_id = _organisation_of(meeting, actor)
            for key, text in notes.items():
                details[key] = _note(text, about or subject_ref, organisation_id)
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


def _organisation_of(meeting: "Meeting | None", actor: Actor) -> int | None:
    if meeting is not None:
        return meeting.organisation_id
    return actor.user.organisation_id if actor.user is not None else None


def commitment(salt: str, text: str) -> str:
    """What the chain keeps of a note: SHA-256 over its salt (fixed length) and its text."""
    return hashlib.sha256((salt + text).encode("utf-8")).hexdigest()


def _note(text: str, subject_ref: str, organisation_id: int | None) -> dict[str, Any] | str:
    """Store free text as a note; the chained details get its id and commitment."""
    if not text:
        return ""  # nothing written: nothing to erase
    salt = secrets.token_hex(16)
    note = AuditNote.objects.create(
        text=text,
        salt=salt,
        subject_ref=subject_ref,
        organisation_id=organisation_id,
        created_at=timezone.now(),
    )
    return {"note": note.pk, "sha256": commitment(salt, text)}


@dataclass(frozen=True)
class NoteReading:
    """The free text an event refers to, as found now."""

    text: str
    state: str  # "kept", "erased" (deleted by erasure or retention), "changed", "inline"


def notes_of(events: Iterable[AuditEvent]) -> dict[int, AuditNote]:
    """The notes these events refer to that still exist, by id, in one query."""
    ids = {
        value["note"]
        for event in events
        for value in event.details.values()
        if isinstance(value, dict) and isinstance(value.get("note"), int)
    }
    return AuditNote.objects.in_bulk(list(ids)) if ids else {}


def read_note(value: Any, notes: dict[int, AuditNote]) -> NoteReading:
    """The text a detail holds: a note's, if it still exists and matches its commitment.

    Events written before notes existed hold their text inline (`"inline"`)."""
    if not isinstance(value, dict):
        return NoteReading(str(value or ""), "inline")
    note = notes.get(value.get("note"))  # type: ignore[arg-type]
    if note is None:
        return NoteReading("", "erased")
    if commitment(note.salt, note.text) != value.get("sha256"):
        return NoteReading("", "changed")
    return NoteReading(note.text, "kept")


NOTE_WORDS = {"erased": "(erased)", "changed": "(changed after it was recorded)"}


def readable_details(event: AuditEvent, notes: dict[int, AuditNote]) -> dict[str, Any]:
    """An event's details for people to read: each note's text instead of its reference."""
    shown: dict[str, Any] = {}
    for key, value in event.details.items():
        if isinstance(value, dict) and "note" in value and "sha256" in value:
            reading = read_note(value, notes)
            value = reading.text if reading.state == "kept" else NOTE_WORDS[reading.state]
        shown[key] = value
    return shown


def _chain_head() -> AuditChainHead:
    """The chain's head, locked: appends happen one at a time, in order.

    The row lock serialises appends on PostgreSQL (SQLite's writers queue for the whole
    database anyway). The very first append creates the row; one racing it waits on the
    insert, then locks the row it made and reads the hash it wrote.
    """
    head = AuditChainHead.objects.select_for_update(no_key=True).filter(pk=1).first()
    if head is None:
        AuditChainHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS})
        head = AuditChainHead.objects.select_for_update(no_key=True).get(pk=1)
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
    were destroyed meanwhile, the walk starts again from the new anchor. What it found is
    kept on the checkpoint, for the evidence page.
    """
    walk = _verify_anchored(recent=False)
    _record_full_check(walk)
    return walk.checked, walk.broken


@dataclass(frozen=True)
class Verification:
    """What a check of the chain since the checkpoint found, and the last full check."""

    checked: int
    broken: ChainBreak | None
    since_id: int  # events after this id were checked now (0: from the start)
    checkpoint: AuditCheckpoint | None


def verify_recent() -> Verification:
    """Check only the events after the checkpoint (the evidence page, on every view), so
    the cost follows what was appended since, not the size of the log; then move the
    checkpoint to what verified. A change to an event before the checkpoint is found by
    the full check (`verify_chain`), which the retention job runs daily."""
    walk = _verify_anchored(recent=True)
    if walk.broken is None:
        _advance_checkpoint(walk)
    return Verification(
        walk.checked,
        walk.broken,
        walk.started_after,
        AuditCheckpoint.objects.filter(pk=1).first(),
    )


def full_check_due(every: dt.timedelta) -> bool:
    """Whether the last full check is older than `every` (or there was none)."""
    checkpoint = AuditCheckpoint.objects.filter(pk=1).first()
    last = checkpoint.full_check_at if checkpoint is not None else None
    return last is None or last < timezone.now() - every


def _verify_anchored(*, recent: bool) -> "_Walk":
    walk = _Walk()
    for _attempt in range(3):
        anchor = AuditAnchor.objects.filter(pk=1).first()
        head = AuditChainHead.objects.filter(pk=1).first()
        walk = _verify(anchor, head, _start(anchor, recent))
        now_anchored = AuditAnchor.objects.filter(pk=1).values_list("last_hash", flat=True)
        if walk.broken is None or list(now_anchored) == ([anchor.last_hash] if anchor else []):
            break
    return walk


def _start(anchor: AuditAnchor | None, recent: bool) -> tuple[int, str] | ChainBreak:
    """Where a walk starts: the anchor (or the beginning), or for a recent check the
    checkpoint, if it is past the anchor and its event is still as it was checked."""
    start = (anchor.through_id, anchor.last_hash) if anchor is not None else (0, GENESIS)
    checkpoint = AuditCheckpoint.objects.filter(pk=1).first() if recent else None
    if checkpoint is None or checkpoint.through_id <= start[0]:
        return start
    found = AuditEvent.objects.filter(pk=checkpoint.through_id).values_list("hash", flat=True)
    if list(found) != [checkpoint.last_hash]:
        return ChainBreak(checkpoint.through_id, "the event checked last was changed or deleted")
    return checkpoint.through_id, checkpoint.last_hash


def _verify(
    anchor: AuditAnchor | None,
    head: AuditChainHead | None,
    start: tuple[int, str] | ChainBreak,
) -> "_Walk":
    if isinstance(start, ChainBreak):
        return _Walk(broken=start)
    after_id, expected_prev = start
    # The head was read before the walk: events appended since come after it.
    until = head.last_hash if head is not None else None
    walk = _walk(expected_prev, until=until, after_id=after_id)
    if walk.broken is not None:
        return walk
    if head is not None and not walk.reached:
        walk.broken = ChainBreak(0, "the newest events were deleted")
        return walk
    if anchor is not None:
        sealed = AuditEvent.objects.filter(action=EXPIRED).order_by("-id").first()
        if sealed is None or sealed.details.get("anchor") != anchor.last_hash:
            where = sealed.pk if sealed is not None else 0
            walk.broken = ChainBreak(where, "the record of destroyed old events was changed")
    return walk


def _advance_checkpoint(walk: "_Walk") -> None:
    """Move the checkpoint forward to the newest event that verified (never back)."""
    if walk.last_id <= walk.started_after:
        return
    now = timezone.now()
    with transaction.atomic():
        moved = AuditCheckpoint.objects.filter(pk=1, through_id__lt=walk.last_id).update(
            through_id=walk.last_id, last_hash=walk.last_hash, verified_at=now
        )
        if not moved:
            AuditCheckpoint.objects.get_or_create(
                pk=1,
                defaults={
                    "through_id": walk.last_id,
                    "last_hash": walk.last_hash,
                    "verified_at": now,
                },
            )


def _record_full_check(walk: "_Walk") -> None:
    """Keep what a full check found; if the chain verified, the checkpoint moves to where
    the walk ended (even back: the full check is the authority)."""
    now = timezone.now()
    broken = walk.broken
    found: dict[str, Any] = {
        "full_check_at": now,
        "full_check_checked": walk.checked,
        "full_check_broken_id": broken.event_id if broken is not None else None,
        "full_check_problem": broken.reason if broken is not None else "",
    }
    if broken is None and walk.last_id:
        found |= {"through_id": walk.last_id, "last_hash": walk.last_hash, "verified_at": now}
    with transaction.atomic():
        AuditCheckpoint.objects.update_or_create(
            pk=1,
            defaults=found,
            create_defaults={
                "through_id": walk.last_id,
                "last_hash": walk.last_hash or GENESIS,
                "verified_at": now,
                **found,
            },
        )


@dataclass
class _Walk:
    checked: int = 0
    broken: ChainBreak | None = None
    last_hash: str = ""
    reached: bool = False
    last_id: int = 0
    started_after: int = 0


def _walk(
    expected_prev: str,
    before: dt.datetime | None = None,
    until: str | None = None,
    after_id: int = 0,
) -> _Walk:
    """Check events in order from the one after `after_id` (only those older than
    `before`, if given); note whether the chain passed through the hash `until`."""
    walk = _Walk(
        last_hash=expected_prev,
        reached=expected_prev == until,
        last_id=after_id,
        started_after=after_id,
    )
    for event in AuditEvent.objects.filter(id__gt=after_id).order_by("id").iterator():
        if before is not None and event.at >= before:
            break
        if event.prev_hash != walk.last_hash:
            walk.broken = ChainBreak(event.pk, "an event before it was changed or deleted")
            return walk
        if event_hash(event) != event.hash:
            walk.broken = ChainBreak(event.pk, "its content was changed")
            return walk
        walk.last_hash = event.hash
        walk.last_id = event.pk
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
        anchor = AuditAnchor.objects.select_for_update(no_key=True).filter(pk=1).first()
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
