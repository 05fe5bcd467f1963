from typing import Any

from django.db import models


class AuditEvent(models.Model):
    """One thing that happened, who did it, when, and in which meeting (rule D5).

    Append-only and hash-chained: each row's hash covers its own content and the hash of
    the row before, so changing or deleting a row breaks the chain (manage.py
    verify_audit finds where). People appear only as pseudonyms (`actor_ref`,
    `subject_ref`); who a pseudonym is lives in AuditIdentity, which erasure (D4) can
    delete without touching the chain.
    """

    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=60, db_index=True)
    actor_kind = models.CharField(max_length=20)  # "staff", "attendee", "system", "anonymous"
    actor_ref = models.CharField(max_length=64, db_index=True)
    subject_ref = models.CharField(max_length=64, blank=True, db_index=True)
    meeting_ref = models.CharField(max_length=40, blank=True, db_index=True)
    details = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # Links for convenient queries; not part of the hash, since deleting a meeting or an
    # invitation (retention, erasure) clears them.
    actor_user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    meeting = models.ForeignKey(
        "meetings.Meeting", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invitation = models.ForeignKey(
        "invitations.Invitation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_ref}: {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("Audit events are append-only.")
        super().save(*args, **kwargs)


class AuditChainHead(models.Model):
    """The hash of the newest audit event: one row, locked while an event is appended."""

    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.last_hash


class AuditIdentity(models.Model):
    """Who a pseudonym in the audit log is. Erasing a person deletes their row here."""

    ref = models.CharField(max_length=64, primary_key=True)
    label = models.CharField(max_length=300)
    email = models.EmailField(blank=True, db_index=True)

    def __str__(self) -> str:
        return self.label


class AuditAnchor(models.Model):
    """Where the chain starts once its oldest events were destroyed (rule D3): one row.

    `last_hash` is the hash of the newest destroyed event, so the first remaining event's
    prev_hash must equal it. Each expiry also seals the same hash into the chain, in an
    `audit.expired` event written in the same transaction, so changing this row is found
    by `verify_audit` as surely as changing an event.
    """

    through_id = models.BigIntegerField(help_text="Every event up to this id was destroyed.")
    last_hash = models.CharField(max_length=64)
    destroyed_count = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Audit log starts after event {self.through_id}"


class AuditNote(models.Model):
    """Free text an audit event refers to (a host's reason for a removal, a document's
    name), kept out of the hash chain so that erasure (D4) and retention (D3) can delete
    it while the chain still verifies (D5).

    The event's details hold only this row's id and a commitment: the SHA-256 of `salt`
    and `text`. The salt is kept here, so once the note is deleted the commitment left in
    the chain says nothing about the words (they cannot be guessed and checked), and while
    it exists anyone can check that the words are the ones recorded.
    """

    text = models.TextField()
    salt = models.CharField(max_length=32)
    # Whom the words are about (their pseudonym), and whose they are: what erasure and
    # subject access look for, and which organisation's retention applies.
    subject_ref = models.CharField(max_length=64, blank=True, db_index=True)
    organisation = models.ForeignKey(
        "policy.Organisation", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"Audit note {self.pk}"


class AuditCheckpoint(models.Model):
    """How far the chain is known to verify, so the evidence page checks only what came
    after (one row). A full check (`manage.py verify_audit`, and the retention job once a
    day) walks every event again, since a change before the checkpoint is found only so,
    and records what it found here."""

    through_id = models.BigIntegerField(help_text="Every event up to this id verified.")
    last_hash = models.CharField(max_length=64)
    verified_at = models.DateTimeField()
    full_check_at = models.DateTimeField(null=True, blank=True)
    full_check_checked = models.PositiveBigIntegerField(default=0)
    full_check_broken_id = models.BigIntegerField(null=True, blank=True)
    full_check_problem = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"Audit log verified through event {self.through_id}"
