from django.db import models


class Role(models.TextChoices):
    """Every invitee has exactly one role, which decides the consent needed (rule U2)."""

    PROFESSIONAL = "professional", "Professional"
    PARENT_CARER = "parent_carer", "Parent or carer"
    YOUNG_PERSON = "young_person", "Young person (16 or over)"
    CHILD = "child", "Child (under 16)"


class Invitation(models.Model):
    """One person invited to one meeting (rule S1).

    Consent comes first (rule G1): the personal link and passcode are made only once the
    invitee, or for a child their parent or carer, has agreed to the house rules. Both are
    stored only as hashes.
    """

    meeting = models.ForeignKey(
        "meetings.Meeting", on_delete=models.CASCADE, related_name="invitations"
    )
    name = models.CharField(max_length=150, help_text="Set by staff; attendees cannot change it.")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices)
    # For a child under 16: the parent or carer who consents for them (rule U3).
    parent_name = models.CharField(max_length=150, blank=True)
    parent_email = models.EmailField(blank=True)
    # The host asks for a named supervising adult (rule U5); a child always has one.
    needs_supervision = models.BooleanField(default=False)
    # Empty until consent: the link and passcode are made when the access email is sent.
    link_token_sha256 = models.CharField(max_length=64, unique=True, null=True, blank=True)
    passcode_hash = models.CharField(max_length=200, blank=True)
    passcode_failures = models.PositiveIntegerField(default=0)
    passcode_locked_until = models.DateTimeField(null=True, blank=True)
    access_sent_at = models.DateTimeField(null=True, blank=True)
    # The SEQUENCE of this invitee's calendar event: raised by each change or cancellation.
    calendar_sequence = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    invited_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [
            # One live invitation per address, except that children often use a parent's
            # address: several children (and the parent) may share one, by name.
            models.UniqueConstraint(
                fields=["meeting", "email"],
                condition=models.Q(revoked_at__isnull=True) & ~models.Q(role="child"),
                name="one_invitation_per_email_per_meeting",
            ),
            models.UniqueConstraint(
                fields=["meeting", "email", "name"],
                condition=models.Q(revoked_at__isnull=True, role="child"),
                name="one_child_invitation_per_email_and_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    @property
    def is_child(self) -> bool:
        return self.role == Role.CHILD

    @property
    def consent_email(self) -> str:
        """Where consent is asked: a child's parent or carer (U3), anyone else themself (U4)."""
        return self.parent_email if self.is_child else self.email

    @property
    def consent_name(self) -> str:
        return self.parent_name if self.is_child else self.name

    @property
    def needs_supervising_adult(self) -> bool:
        """A child always has a supervising adult (U3); anyone else if the host says so (U5)."""
        return self.is_child or self.needs_supervision


class PasscodeAddress(models.Model):
    """Wrong passcodes from one client address over every link (rule S1,
    haven/invitations/guessing.py). Keyed by a keyed hash: the address is never stored."""

    address_sha256 = models.CharField(max_length=64, unique=True)
    window_started_at = models.DateTimeField(db_index=True)
    wrong_tries = models.PositiveIntegerField(default=0)
    paused_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Passcode tries from {self.address_sha256[:8]}…"
