from typing import Any

from django.core.management.base import BaseCommand, CommandError

from haven.records.actions import rotate_transcript_keys
from haven.records.crypto import GUIDE, TranscriptKeyError


class Command(BaseCommand):
    help = (
        "Wrap every kept transcript's key again with the current HAVEN_TRANSCRIPT_KEY "
        "(rule S6). Run it after moving the old key to HAVEN_TRANSCRIPT_OLD_KEYS; then the "
        "old key can be removed. Safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rotation = rotate_transcript_keys()
        except TranscriptKeyError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Current transcript key: {rotation.key_id}")
        self.stdout.write(f"Re-wrapped with it: {rotation.rewrapped}")
        self.stdout.write(f"Already wrapped with it: {rotation.already_current}")
        self.stdout.write(f"Could not be read: {len(rotation.unreadable)}")
        if rotation.unreadable:
            needed = ", ".join(sorted(set(rotation.unreadable.values())))
            meetings = ", ".join(sorted(rotation.unreadable))
            raise CommandError(
                f"{len(rotation.unreadable)} transcript key(s) could not be read: they were "
                f"wrapped with transcript key {needed}, which is not in HAVEN_TRANSCRIPT_KEY or "
                f"HAVEN_TRANSCRIPT_OLD_KEYS. Put it back in HAVEN_TRANSCRIPT_OLD_KEYS and run "
                f"this again; until then those transcripts cannot be read ({GUIDE}). "
                f"Meetings: {meetings}"
            )
