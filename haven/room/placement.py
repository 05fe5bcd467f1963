"""Which Janus server each meeting is on, kept in the database (``Meeting.media_server``).

Every Haven process of a deployment reads the same placement, so everyone in a meeting
meets on one server whichever process holds their connection. A meeting is placed when
its media room is first needed, on the least loaded server this process can reach: the
one with the fewest people in meetings in progress placed on it, then the fewest such
meetings, then the first in HAVEN_JANUS_SERVERS. It stays there. Only when its server is
lost (haven/media/pool.py) does it move, to the least loaded of the others.

Placing and moving are conditional UPDATEs (only if the meeting is still unplaced, or
still on the lost server), so when two processes race, one wins and both use its choice.
"""

from collections.abc import Sequence

from django.db.models import Count, Q

from haven.meetings.models import Meeting
from haven.room.models import Participant

Load = tuple[int, int]  # (people admitted, meetings) on one server


class NoMediaServer(Exception):
    """No media server can be reached to place a meeting on."""


def least_loaded(candidates: Sequence[str], loads: dict[str, Load]) -> str:
    """The candidate with the smallest load; ties go to the first in ``candidates``."""
    if not candidates:
        raise NoMediaServer("no media server answers")
    return min(candidates, key=lambda name: (loads.get(name, (0, 0)), candidates.index(name)))


def server_loads(names: Sequence[str]) -> dict[str, Load]:
    """People admitted and meetings in progress on each of these servers: one query."""
    admitted = Q(participants__state=Participant.State.ADMITTED)
    rows = (
        Meeting.objects.filter(state=Meeting.State.LIVE, media_server__in=names)
        .values("media_server")
        .annotate(
            people=Count("participants", filter=admitted), meetings=Count("id", distinct=True)
        )
        .order_by("media_server")
    )
    loads = {name: (0, 0) for name in names}
    for row in rows:
        loads[row["media_server"]] = (row["people"], row["meetings"])
    return loads


def place(meeting_pk: int, configured: Sequence[str], reachable: Sequence[str]) -> str:
    """The server this meeting is on, placing it first if it is not on a configured one.

    Raises NoMediaServer if it has to be placed and no server can be reached.
    """
    current = Meeting.objects.values_list("media_server", flat=True).get(pk=meeting_pk)
    if current in configured:
        return current
    chosen = least_loaded(reachable, server_loads(reachable))
    Meeting.objects.filter(pk=meeting_pk, media_server=current).update(media_server=chosen)
    # Ours, or what another process placed it on a moment before.
    placed: str = Meeting.objects.values_list("media_server", flat=True).get(pk=meeting_pk)
    return placed


def move_meetings_off(lost: str, reachable: Sequence[str]) -> list[Meeting]:
    """Move every meeting in progress on the ``lost`` server to the least loaded of the
    reachable others; return those this call moved (another process may move some)."""
    others = [name for name in reachable if name != lost]
    if not others:
        return []
    moved = []
    on_lost = Meeting.objects.filter(media_server=lost, state=Meeting.State.LIVE)
    for meeting in on_lost.order_by("id"):
        # Counted again each time, so that the meetings spread over the others.
        meeting.media_server = least_loaded(others, server_loads(others))
        still_there = Meeting.objects.filter(pk=meeting.pk, media_server=lost)
        if still_there.update(media_server=meeting.media_server):
            moved.append(meeting)
    return moved
