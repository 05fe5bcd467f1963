import uuid

from django.db import models


class Meeting(models.Model):
    """A meeting a member of staff hosts. It records the policy version in force (rule P1)."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        LIVE = "live", "In progress"
        ENDED = "ended", "Ended"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        "policy.Organisation", on_delete=models.PROTECT, related_name="meetings"
    )
    host = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="meetings")
    policy = models.ForeignKey("policy.PolicyVersion", on_delete=models.PROTECT, related_name="+")
    meeting_type = models.ForeignKey(
        "policy.MeetingType", on_delete=models.PROTECT, related_name="meetings"
    )
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.SCHEDULED)
    locked = models.BooleanField(default=False, help_text="Nobody new can enter (rule S3).")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_at"]

    def __str__(self) -> str:
        return self.title

    @property
    def room_key(self) -> str:
        """The name of this meeting's room on the media server."""
        return f"meeting-{self.public_id}"
