"""Channel-layer groups of one meeting, and sending to them only after commit."""

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from pydantic import BaseModel

from haven.meetings.models import Meeting
from haven.room.protocol import encode


def in_meeting(meeting: Meeting) -> str:
    """Everyone admitted, host included: the only group that gets meeting content (S2)."""
    return f"room-{meeting.public_id.hex}-in"


def hosts(meeting: Meeting) -> str:
    return f"room-{meeting.public_id.hex}-host"


def everyone(meeting: Meeting) -> str:
    """Every connection, waiting room included: for lifecycle events only (meeting ended)."""
    return f"room-{meeting.public_id.hex}-all"


def staff_member(user_id: int) -> str:
    """Every meeting connection of one member of staff (closed when they are signed out)."""
    return f"staff-{user_id}"


def send_on_commit(target: str, message: BaseModel, *, group: bool = True, **extra: Any) -> None:
    """Send a protocol message to a group or one channel once the transaction commits."""
    event = {"type": "room.forward", "text": encode(message), **extra}
    transaction.on_commit(lambda: _send(target, event, group))


def signal_on_commit(target: str, event: dict[str, Any], *, group: bool = False) -> None:
    """Send an internal event (not a protocol message) once the transaction commits."""
    transaction.on_commit(lambda: _send(target, event, group))


def add_on_commit(group: str, channel: str) -> None:
    """Add one connection to a group once the transaction commits."""
    transaction.on_commit(lambda: async_to_sync(_layer().group_add)(group, channel))


def _layer() -> Any:
    layer = get_channel_layer()
    assert layer is not None
    return layer


def _send(target: str, event: dict[str, Any], group: bool) -> None:
    layer = get_channel_layer()
    assert layer is not None
    if group:
        async_to_sync(layer.group_send)(target, event)
    else:
        async_to_sync(layer.send)(target, event)
