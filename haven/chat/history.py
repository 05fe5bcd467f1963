"""What of a meeting's chat a person sees: everything since they were first let in."""

import datetime as dt
from collections.abc import Iterable

from django.db.models import Min

from haven.chat.models import ChatMessage
from haven.chat.text import has_link
from haven.room import protocol as p
from haven.room.models import Participant


def chat_item(message: ChatMessage) -> p.ChatItem:
    return p.ChatItem(
        id=message.public_id,
        author=message.author_name,
        author_is_host=message.author_is_host,
        participant=message.participant.public_id if message.participant else None,
        text=message.text,
        at=message.created_at.isoformat(),
        has_link=has_link(message.text),
    )


def _messages(meeting_id: int) -> list[ChatMessage]:
    return list(
        ChatMessage.objects.filter(meeting_id=meeting_id, removed_at__isnull=True).select_related(
            "participant"
        )
    )


def history(participant: Participant) -> list[p.ChatItem]:
    """Messages since this person was first admitted to this meeting (all, for the host)."""
    since = _first_admitted(participant)
    messages = ChatMessage.objects.filter(
        meeting_id=participant.meeting_id, removed_at__isnull=True
    ).select_related("participant")
    if since is not None:
        messages = messages.filter(created_at__gte=since)
    return [chat_item(message) for message in messages]


def histories(meeting_id: int, participants: Iterable[Participant]) -> dict[int, list[p.ChatItem]]:
    """history() for several people of one meeting at once (by participant pk), in two
    queries however many they are: for the people an admission lets in."""
    people = list(participants)
    if not people:
        return {}
    firsts = dict(
        Participant.objects.filter(meeting_id=meeting_id, invitation__isnull=False)
        .values("invitation_id")
        .annotate(first=Min("admitted_at"))
        .values_list("invitation_id", "first")
    )
    items = [(message.created_at, chat_item(message)) for message in _messages(meeting_id)]
    found = {}
    for person in people:
        since: dt.datetime | None = None  # the host sees it all
        if person.invitation_id is not None:
            since = firsts.get(person.invitation_id) or person.admitted_at
        found[person.pk] = [item for at, item in items if since is None or at >= since]
    return found


def _first_admitted(participant: Participant) -> dt.datetime | None:
    if participant.is_host:
        return None
    earlier = Participant.objects.filter(
        meeting_id=participant.meeting_id, invitation=participant.invitation
    ).aggregate(first=Min("admitted_at"))
    first: dt.datetime | None = earlier["first"]
    return first or participant.admitted_at
