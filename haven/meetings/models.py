import datetime as dt
import hashlib
import json
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
    duration_minutes = models.PositiveIntegerField(default=60)
    state = models.CharField(max_length=20, choices=State.choices, default=State.SCHEDULED)
    locked = models.BooleanField(default=False, help_text="Nobody new can enter (rule S3).")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # A cancelled meeting has ended before it began: state ENDED, and this time.
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The Janus server (its address in HAVEN_JANUS_SERVERS) this meeting's media is on:
    # set when its media room is first needed, changed only if that server is lost
    # (haven/room/placement.py). Empty until then.
    media_server = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["starts_at"]

    def __str__(self) -> str:
        return self.title

    @classmethod
    def lock(cls, pk: int) -> "Meeting":
        """The meeting's row, locked until the transaction ends: changes to one meeting
        (joins, admissions, invitations against its cap, ending it) take turns.

        FOR NO KEY UPDATE, not FOR UPDATE: rows that only point at the meeting (audit
        entries, invitations, participants) can still be written meanwhile. An audit
        append holds the chain head while it writes its row; had that row waited for the
        meeting's lock, and the lock's holder for the chain head, two invitations sent at
        once deadlocked on PostgreSQL. SQLite takes no row locks and ignores this."""
        rows = cls.objects.select_related("meeting_type")
        # Only the meeting's own row: its type is shared with other meetings.
        return rows.select_for_update(no_key=True, of=("self",)).get(pk=pk)

    @property
    def room_key(self) -> str:
        """The name of this meeting's room on the media server."""
        return f"meeting-{self.public_id}"

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)

    @property
    def state_label(self) -> str:
        return "Cancelled" if self.cancelled_at else self.get_state_display()

    @property
    def is_open(self) -> bool:
        """Not ended or cancelled: people can still be invited and rules changed."""
        return self.state != self.State.ENDED

    def current_house_rules(self) -> "HouseRules":
        """The newest version of this meeting's house rules: the one consent must name."""
        rules = self.house_rules.order_by("-version").first()
        assert rules is not None, "every meeting has house rules from its creation"
        return rules


class HouseRules(models.Model):
    """One version of one meeting's house rules (rule G1). Never changed once stored.

    Version 1 comes from the meeting type's template; each change by the host adds the next
    version. A consent names the version and the SHA-256 of the exact text agreed.
    """

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="house_rules")
    version = models.PositiveIntegerField()
    text = models.TextField()
    easy_read = models.TextField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["meeting", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "version"], name="one_house_rules_row_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"House rules v{self.version} of {self.meeting}"

    @staticmethod
    def digest(text: str, easy_read: str) -> str:
        """The SHA-256 of both texts, in a form that cannot be read two ways."""
        canonical = json.dumps({"easy_read": easy_read, "text": text}, sort_keys=True)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def lines(self) -> list[str]:
        return rule_lines(self.text)

    def easy_read_lines(self) -> list[str]:
        return rule_lines(self.easy_read)


def rule_lines(text: str) -> list[str]:
    """House rules are written one per line, as "- rule"; show them as a list."""
    return [line.strip().removeprefix("- ").strip() for line in text.splitlines() if line.strip()]
