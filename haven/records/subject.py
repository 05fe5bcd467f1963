"""A person's own lines in transcripts, for subject access and erasure (rule D4).

Transcripts stay encrypted: these functions decrypt through `read_transcript` (each read
audited), pick out one person's lines, and for erasure encrypt the transcript again under
a new key with those lines replaced.
"""

import json
from dataclasses import dataclass

from django.db import transaction

from haven.audit.log import Actor, record
from haven.records import crypto
from haven.records.actions import context_of, read_transcript, store_sealed
from haven.records.models import Transcript

ERASED_AUTHOR = "Erased"
ERASED_TEXT = "(This message was erased at the writer's request.)"


@dataclass(frozen=True)
class Author:
    """How one person appears in one meeting's transcript.

    `person` is their pseudonym (lines written since transcripts carry it); `names` the
    names they had in that meeting, for older lines; `host` says their lines are the
    host's (a member of staff who hosted it).
    """

    person: str
    names: frozenset[str]
    host: bool = False

    def wrote(self, line: dict[str, object]) -> bool:
        if self.host:
            return bool(line.get("host"))
        if line.get("host"):
            return False
        if line.get("person"):
            return line["person"] == self.person
        return line.get("author") in self.names


def own_lines(transcript: Transcript, actor: Actor, author: Author) -> list[dict[str, object]]:
    """The person's own lines of a kept transcript; the read is audited."""
    if transcript.is_destroyed:
        return []
    lines = read_transcript(transcript, actor, "subject_access")
    return [
        {"at": line["at"], "author": line["author"], "text": line["text"]}
        for line in lines
        if author.wrote(line)
    ]


@transaction.atomic
def redact(transcript: Transcript, actor: Actor, author: Author) -> int:
    """Replace the person's lines with "Erased" and encrypt again under a new key.

    Returns how many lines were replaced; the old key is deleted, so the old ciphertext
    could not be read even if a copy of it survived.
    """
    transcript = Transcript.objects.select_for_update(no_key=True).get(pk=transcript.pk)
    if transcript.is_destroyed:
        return 0
    lines = read_transcript(transcript, actor, "read_for_erasure")
    replaced = 0
    kept: list[dict[str, object]] = []
    for line in lines:
        if author.wrote(line):
            kept.append(
                {"at": line["at"], "author": ERASED_AUTHOR, "host": False, "text": ERASED_TEXT}
            )
            replaced += 1
        else:
            kept.append(line)
    if replaced:
        sealed = crypto.seal(json.dumps(kept).encode("utf-8"), context_of(transcript.meeting))
        store_sealed(transcript, sealed)
        record("transcript.redacted", actor, meeting=transcript.meeting, lines=replaced)
    return replaced
