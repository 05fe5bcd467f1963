from django.db import models


class Removal(models.Model):
    """Someone the host removed: they cannot come back to this meeting by any link."""

    meeting = models.ForeignKey("meetings.Meeting", on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(help_text="Stored lower-case: every link for it is refused.")
    reason = models.TextField()
    removed_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.email} removed from {self.meeting}"


class Ban(models.Model):
    """Someone blocked from every meeting of the organisation until a coordinator lifts it."""

    organisation = models.ForeignKey(
        "policy.Organisation", on_delete=models.CASCADE, related_name="bans"
    )
    email = models.EmailField(help_text="Stored lower-case.")
    reason = models.TextField()
    banned_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    meeting = models.ForeignKey(
        "meetings.Meeting", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lift_reason = models.TextField(blank=True)
    # Chosen when the ban is made (the policy's ban_review_days by default); a coordinator
    # may move it. A ban nobody kept by then ends by itself (rule S8): `lapsed`.
    review_on = models.DateField(help_text="Reviewed by this date, or it ends by itself.")
    lapsed = models.BooleanField(
        default=False, help_text="Ended by itself at its review date (lifted_at says when)."
    )

    def __str__(self) -> str:
        return f"{self.email} banned from {self.organisation}"

    @property
    def in_force(self) -> bool:
        return self.lifted_at is None


def is_excluded(meeting_id: int, organisation_id: int, email: str) -> bool:
    """Whether this email may not enter this meeting: removed from it, or banned (S8)."""
    address = email.strip().lower()
    removed = Removal.objects.filter(meeting_id=meeting_id, email=address).exists()
    return (
        removed
        or Ban.objects.filter(
            organisation_id=organisation_id, email=address, lifted_at__isnull=True
        ).exists()
    )
