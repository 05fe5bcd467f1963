from django.db import models


class Transcript(models.Model):
    """A meeting's group chat, encrypted, kept until its retention date (rule S6).

    Encrypted with AES-GCM under a key of its own (TranscriptKey), itself wrapped with
    the server's transcript key. Destroying it deletes the key and the ciphertext
    (crypto-shredding) and keeps this row as the record that it was destroyed.
    """

    meeting = models.OneToOneField(
        "meetings.Meeting", on_delete=models.CASCADE, related_name="transcript"
    )
    ciphertext = models.BinaryField(null=True)
    nonce = models.BinaryField(null=True)
    message_count = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    retain_until = models.DateField(help_text="Destroyed automatically after this date.")
    destroyed_at = models.DateTimeField(null=True, blank=True)
    destroyed_because = models.CharField(max_length=40, blank=True)

    def __str__(self) -> str:
        return f"Transcript of {self.meeting}"

    @property
    def is_destroyed(self) -> bool:
        return self.destroyed_at is not None


class TranscriptKey(models.Model):
    """The transcript's own AES-256 key, wrapped (AES-GCM) with the server's transcript key,
    and that key's id (haven/records/crypto.py): rotation re-wraps it with a new key."""

    transcript = models.OneToOneField(Transcript, on_delete=models.CASCADE, related_name="key")
    wrapped_key = models.BinaryField()
    wrap_nonce = models.BinaryField()
    # Empty only for a key stored before ids, that no key configured at migration opened.
    key_id = models.CharField(max_length=16, blank=True)

    def __str__(self) -> str:
        return f"Key for {self.transcript}"
