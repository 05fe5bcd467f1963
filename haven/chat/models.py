from django.db import models


class ChatMessage(models.Model):
    """One message to everyone in a meeting. There is no recipient: no private chat (S5).

    Kept only while the meeting runs; at the end it becomes part of the encrypted
    transcript, or is destroyed, and these rows are deleted (S6).
    """

    public_id = models.CharField(max_length=40, unique=True)
    meeting = models.ForeignKey(
        "meetings.Meeting", on_delete=models.CASCADE, related_name="chat_messages"
    )
    participant = models.ForeignKey(
        "room.Participant", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=150)
    author_is_host = models.BooleanField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.author_name}: {self.text[:40]}"
