"""Chat in a meeting: stored first, then sent to everyone in the meeting (after commit)."""

import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from haven.audit.log import record
from haven.chat.history import chat_item, history
from haven.chat.models import ChatMessage
from haven.chat.text import clean_and_report, has_data_url
from haven.policy import rules
from haven.policy.rules import Decision, MeetingState, Presence
from haven.room import groups
from haven.room import protocol as p
from haven.room.access import Identity
from haven.room.actions import Refused, require
from haven.room.models import Participant

__all__ = ["chat_item", "do_remove_chat", "do_send_chat", "history"]

EMPTY = Decision(False, "bad_message", "The message is empty.")
# A data URL is a file by another name: documents go by email, never through chat (S4).
DATA_URL = Decision(
    False,
    "bad_message",
    "Files cannot be sent in the chat, and a data URL is a file. "
    "The host can send documents by email.",
)


@dataclass(frozen=True)
class Sent:
    message: ChatMessage
    # The invisible characters taken out of the text before it was stored (text.py).
    removed: list[str]


@transaction.atomic
def do_send_chat(participant: Participant, text: str) -> Sent:
    """Store one message for everyone in the meeting, then send it (S5: no recipient)."""
    participant.refresh_from_db()
    meeting = participant.meeting
    require(rules.may_chat(Presence(participant.state), MeetingState(meeting.state)))
    cleaned = clean_and_report(text)
    text = cleaned.text
    if not text:
        raise Refused(EMPTY)
    if has_data_url(text):
        raise Refused(DATA_URL)
    message = ChatMessage.objects.create(
        public_id=f"m_{secrets.token_hex(8)}",
        meeting=meeting,
        participant=participant,
        author_name=participant.name,
        author_is_host=participant.is_host,
        text=text,
    )
    groups.send_on_commit(groups.in_meeting(meeting), p.Chat(message=chat_item(message)))
    return Sent(message, cleaned.removed)


@transaction.atomic
def do_remove_chat(host: Participant, identity: Identity, message_id: str) -> None:
    """The host removes a message for everyone; the removal is audited, the text is not."""
    host.refresh_from_db()
    meeting = identity.meeting
    require(rules.may_moderate(identity.role, Presence(host.state), MeetingState(meeting.state)))
    message = ChatMessage.objects.filter(
        meeting=meeting, public_id=message_id, removed_at__isnull=True
    ).first()
    if message is None:
        raise Refused(Decision(False, "not_found", "There is no such message."))
    message.removed_at = timezone.now()
    message.save(update_fields=["removed_at"])
    record("chat.removed", identity.actor, meeting=meeting, message=message_id)
    groups.send_on_commit(groups.in_meeting(meeting), p.ChatRemoved(message=message_id))
