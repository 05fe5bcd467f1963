from django.db import models


class Role(models.TextChoices):
    """Every invitee has exactly one role, which decides the consent needed (rule U2)."""

    PROFESSIONAL = "professional", "Professional"
    PARENT_CARER = "parent_carer", "Parent or carer"
    YOUNG_PERSON = "young_person", "Young person (16 or over)"
    CHILD = "child", "Child (under 16)"


class Invitation(models.Model):
    """One person invited to one meeting, with their personal link and passcode (rule S1).

    The link token and the passcode are stored only as hashes.
    """

    meeting = models.ForeignKey(
        "meetings.Meeting", on_delete=models.CASCADE, related_name="invitations"
    )
    name = models.CharField(max_length=150, help_text="Set by staff; attendees cannot change it.")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices)
    link_token_sha256 = models.CharField(max_length=64, unique=True)
    passcode_hash = models.CharField(max_length=200)
    passcode_failures = models.PositiveIntegerField(default=0)
    passcode_locked_until = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    invited_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "email"], name="one_invitation_per_email_per_meeting"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"
