from django.db import models


class Participant(models.Model):
    """One person's presence in a meeting through one connection.

    The host is a staff User; everyone else comes through an Invitation. Their state
    decides what reaches them: nothing of the meeting while waiting (rule S2).
    """

    class State(models.TextChoices):
        CONNECTED = "connected", "Connected, not yet joined"
        WAITING = "waiting", "In the waiting room"
        ADMITTED = "admitted", "In the meeting"
        LEFT = "left", "Left"

    public_id = models.CharField(max_length=40, unique=True)
    meeting = models.ForeignKey(
        "meetings.Meeting", on_delete=models.CASCADE, related_name="participants"
    )
    user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    invitation = models.ForeignKey(
        "invitations.Invitation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="participants",
    )
    name = models.CharField(max_length=150)

    class LeftBecause(models.TextChoices):
        LEFT = "left", "Left"
        DISCONNECTED = "disconnected", "Connection closed"
        TURNED_AWAY = "turned_away", "Turned away by the host"
        REMOVED = "removed", "Removed by the host"
        BANNED = "banned", "Banned by the host"
        MEETING_ENDED = "meeting_ended", "The meeting ended"

    state = models.CharField(max_length=20, choices=State.choices, default=State.CONNECTED)
    left_because = models.CharField(max_length=20, choices=LeftBecause.choices, blank=True)
    channel_name = models.CharField(max_length=200)
    # Which Haven process holds the connection (haven/room/presence.py), and the hash of
    # the secret its browser may resume with on another process if that one dies.
    server = models.CharField(max_length=40, blank=True)
    resume_hash = models.CharField(max_length=64, blank=True)
    # Flags the host sees in the waiting room.
    second_device = models.BooleanField(default=False, help_text="Rule S1.")
    arrived_while_locked = models.BooleanField(default=False, help_text="Rule S3.")
    # What this person publishes on the media server.
    feed_id = models.BigIntegerField(null=True, blank=True)
    audio_mid = models.CharField(max_length=16, blank=True)
    screen_feed_id = models.BigIntegerField(null=True, blank=True)
    # The host muted them; only their own unmute_self clears it. Kept here, not in the
    # connection, so that it holds for their next feed too: after a resume on another
    # process, a media server restart or a move to another media server (rule V3).
    host_muted = models.BooleanField(default=False, help_text="Rule V3.")
    # Let in to a meeting whose type starts attendees muted with their camera off (P3):
    # their microphone, and their video, stay muted on the media server, from their first
    # feed on, until they turn each on themselves (unmute_self, camera_on_self: V3).
    muted_on_entry = models.BooleanField(default=False, help_text="Rule P3.")
    camera_off_on_entry = models.BooleanField(default=False, help_text="Rule P3.")
    # When they raised their hand; null while it is down. On the row, not the connection,
    # so that it survives a resume, and hands are shown in the order raised.
    hand_raised_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(auto_now_add=True)
    admitted_at = models.DateTimeField(null=True, blank=True)
    admitted_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) ^ models.Q(invitation__isnull=False),
                name="participant_is_host_xor_invitee",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"

    @property
    def is_host(self) -> bool:
        return self.user_id is not None


class ServerProcess(models.Model):
    """A running Haven process: it says it is alive every few seconds. The people it
    held are let go by another process once it stops (haven/room/presence.py)."""

    name = models.CharField(max_length=40, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name
