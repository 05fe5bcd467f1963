"""Transcripts: saved encrypted when a meeting ends, or destroyed; every read audited."""

import datetime as dt
import json
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from haven.audit.log import Actor, pseudonym, record
from haven.chat.models import ChatMessage
from haven.meetings.models import Meeting
from haven.records import crypto
from haven.records.models import Transcript, TranscriptKey


def context_of(meeting: Meeting) -> bytes:
    """What each transcript's encryption is bound to: its meeting."""
    return f"haven-transcript:{meeting.public_id}".encode()


@transaction.atomic
def do_close_chat(meeting: Meeting, actor: Actor, keep: bool) -> Transcript:
    """At the end of a meeting: encrypt its chat into a transcript with a retention date,
    or destroy it now (the host decides, rule S6). The chat rows are deleted either way."""
    messages = list(
        ChatMessage.objects.filter(meeting=meeting, removed_at__isnull=True)
        .select_related("participant__invitation")
        .order_by("created_at", "id")
    )
    retention = meeting.meeting_type.transcript_retention_days
    transcript = Transcript.objects.create(
        meeting=meeting,
        message_count=len(messages),
        retain_until=timezone.localdate() + dt.timedelta(days=retention),
    )
    if keep:
        _seal(transcript, meeting, messages)
        record("transcript.kept", actor, meeting=meeting, retain_until=str(transcript.retain_until))
    else:
        _mark_destroyed(transcript, "host_chose")
        record("transcript.destroyed", actor, meeting=meeting, because="host_chose")
    ChatMessage.objects.filter(meeting=meeting).delete()
    return transcript


def _seal(transcript: Transcript, meeting: Meeting, messages: list[ChatMessage]) -> None:
    lines = [
        {
            "at": m.created_at.isoformat(),
            "author": m.author_name,
            "host": m.author_is_host,
            "text": m.text,
            # Whose line it is, as the audit log names them: subject access and erasure
            # (rule D4, haven/records/subject.py) find a person's own lines by it.
            "person": _person(m),
        }
        for m in messages
    ]
    store_sealed(transcript, crypto.seal(json.dumps(lines).encode("utf-8"), context_of(meeting)))


def store_sealed(transcript: Transcript, sealed: crypto.Sealed) -> None:
    """Save a transcript's ciphertext and its own key (wrapped, with the wrapping key's id),
    replacing any key it had."""
    transcript.ciphertext, transcript.nonce = sealed.ciphertext, sealed.nonce
    transcript.save(update_fields=["ciphertext", "nonce"])
    TranscriptKey.objects.filter(transcript=transcript).delete()
    TranscriptKey.objects.create(
        transcript=transcript,
        wrapped_key=sealed.wrapped_key,
        wrap_nonce=sealed.wrap_nonce,
        key_id=sealed.key_id,
    )


def _person(message: ChatMessage) -> str:
    participant = message.participant
    if participant is None or participant.invitation is None:
        return ""
    return pseudonym(participant.invitation.email)


def _mark_destroyed(transcript: Transcript, because: str) -> None:
    TranscriptKey.objects.filter(transcript=transcript).delete()
    transcript.ciphertext = transcript.nonce = None
    transcript.destroyed_at = timezone.now()
    transcript.destroyed_because = because
    transcript.save(update_fields=["ciphertext", "nonce", "destroyed_at", "destroyed_because"])


def read_transcript(transcript: Transcript, actor: Actor, how: str) -> list[dict[str, object]]:
    """Decrypt a transcript for authorised staff; every read or download is audited.

    Raises crypto.TranscriptKeyError (saying what to do) when the key that wrapped its key
    is not configured.
    """
    key = transcript.key
    sealed = crypto.Sealed(
        bytes(transcript.ciphertext or b""),
        bytes(transcript.nonce or b""),
        bytes(key.wrapped_key),
        bytes(key.wrap_nonce),
        key.key_id,
    )
    lines: list[dict[str, object]] = json.loads(
        crypto.open_sealed(sealed, context_of(transcript.meeting))
    )
    record(f"transcript.{how}", actor, meeting=transcript.meeting)
    return lines


@transaction.atomic
def do_destroy_transcript(transcript: Transcript, actor: Actor, because: str) -> None:
    """Crypto-shred a transcript now (the host's choice, or its retention date passed)."""
    transcript = Transcript.objects.select_for_update(no_key=True).get(pk=transcript.pk)
    if transcript.is_destroyed:
        return
    _mark_destroyed(transcript, because)
    record("transcript.destroyed", actor, meeting=transcript.meeting, because=because)


def destroy_expired_transcripts(today: dt.date | None = None) -> int:
    """Destroy every transcript past its retention date (run on a schedule, rule D3)."""
    today = today or timezone.localdate()
    due = Transcript.objects.filter(destroyed_at__isnull=True, retain_until__lt=today)
    count = 0
    for transcript in due:
        do_destroy_transcript(transcript, Actor.system(), "retention_ended")
        count += 1
    return count


@dataclass
class Rotation:
    """What `rotate_transcript_key` did: keys re-wrapped, already current, unreadable."""

    key_id: str
    rewrapped: int = 0
    already_current: int = 0
    # meeting public id -> the key id its transcript needs, for each key that did not open.
    unreadable: dict[str, str] = field(default_factory=dict)


def rotate_transcript_keys() -> Rotation:
    """Wrap every stored transcript key again with the current HAVEN_TRANSCRIPT_KEY (S6).

    Each key is re-wrapped in a transaction of its own, so a key that cannot be opened (its
    old key is no longer configured) is reported and the rest still move. Safe to run again.
    """
    key_id, _ = crypto.current_key()
    rotation = Rotation(key_id)
    for key in TranscriptKey.objects.select_related("transcript__meeting").order_by("pk"):
        if key.key_id == key_id:
            rotation.already_current += 1
            continue
        try:
            if _rewrap(key):
                rotation.rewrapped += 1
        except crypto.TranscriptKeyError:
            rotation.unreadable[str(key.transcript.meeting.public_id)] = key.key_id or "unknown"
    record(
        "transcript.keys_rotated",
        Actor.system(),
        key_id=key_id,
        rewrapped=rotation.rewrapped,
        already_current=rotation.already_current,
        unreadable=len(rotation.unreadable),
    )
    return rotation


@transaction.atomic
def _rewrap(key: TranscriptKey) -> bool:
    wrapped = crypto.Wrapped(bytes(key.wrapped_key), bytes(key.wrap_nonce), key.key_id)
    new = crypto.rewrap(wrapped, context_of(key.transcript.meeting))
    # Only if the row is as read: an erasure may have replaced the key meanwhile.
    changed = TranscriptKey.objects.filter(pk=key.pk, key_id=key.key_id, wrap_nonce=key.wrap_nonce)
    return bool(
        changed.update(wrapped_key=new.wrapped_key, wrap_nonce=new.wrap_nonce, key_id=new.key_id)
    )
