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


def forward(message: BaseModel, host_message: BaseModel | None = None) -> dict[str, Any]:
    """The event that passes a protocol message on. With `host_message`, a host's
    connection sends that instead (the host's roster says who supervises whom: U5), so
    one event to the meeting's group serves everyone."""
    event = {"type": "room.forward", "text": encode(message)}
    if host_message is not None:
        event["host_text"] = encode(host_message)
    return event


def send_on_commit(
    target: str,
    message: BaseModel,
    *,
    group: bool = True,
    host_message: BaseModel | None = None,
    **extra: Any,
) -> None:
    """Send a protocol message to a group or one channel once the transaction commits."""
    event = forward(message, host_message) | extra
    transaction.on_commit(lambda: _send(target, event, group))


def signal_on_commit(target: str, event: dict[str, Any], *, group: bool = False) -> None:
    """Send an internal event (not a protocol message) once the transaction commits."""
    transaction.on_commit(lambda: _send(target, event, group))


def add_on_commit(group: str, channel: str) -> None:
    """Add one connection to a group once the transaction commits."""
    transaction.on_commit(lambda: async_to_sync(_layer().group_add)(group, channel))


class AfterCommit:
    """Several broadcasts of one action, made together once its transaction commits.

    Each ``*_on_commit`` above is its own hop from the database thread to the server's
    event loop and back. Letting someone in made four in a row (roster, waiting list,
    joining the meeting's group, `admitted`), and the person let in waited for all of
    them (bench/, issue 8). These go in one hop, in the order they were added.
    """

    def __init__(self) -> None:
        self._steps: list[tuple[str, str, Any]] = []

    def send(
        self,
        target: str,
        message: BaseModel,
        *,
        group: bool = True,
        host_message: BaseModel | None = None,
    ) -> None:
        """A protocol message to a group (or one channel)."""
        event = forward(message, host_message)
        self._steps.append(("group_send" if group else "send", target, event))

    def signal(self, channel: str, event: dict[str, Any]) -> None:
        """An internal event (not a protocol message) to one connection."""
        self._steps.append(("send", channel, event))

    def add(self, group: str, channel: str) -> None:
        """Add one connection to a group."""
        self._steps.append(("group_add", group, channel))

    def on_commit(self) -> None:
        """Make them all once the transaction commits (nothing if it rolls back)."""
        steps = list(self._steps)
        transaction.on_commit(lambda: async_to_sync(_deliver)(steps))


async def _deliver(steps: list[tuple[str, str, Any]]) -> None:
    layer = _layer()
    for method, target, argument in steps:
        await getattr(layer, method)(target, argument)


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
