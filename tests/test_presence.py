"""Which Haven process holds whom, and letting go of what a stopped one held (fast,
in-memory database). The live behaviour is in tests/test_several_processes.py."""

import datetime as dt

import pytest
from django.utils import timezone

from haven.meetings.models import Meeting
from haven.room import presence
from haven.room.models import Participant, ServerProcess
from tests.harness.unit import scheduled_meeting

pytestmark = pytest.mark.django_db


@pytest.fixture
def meeting() -> Meeting:
    return scheduled_meeting()


def held(meeting: Meeting, server: str, number: int) -> Participant:
    return Participant.objects.create(
        public_id=f"p_{number:04x}",
        meeting=meeting,
        user=meeting.host,
        name="Alex Morgan",
        state=Participant.State.ADMITTED,
        channel_name=f"specific.{server}!{number}",
        server=server,
    )


# Processes on this process's channel layer (the unit tests': the in-memory one).
DEAD, ALIVE, OTHER = (f"{presence.LAYER_PREFIX}{name}" for name in ("dead", "alive", "other"))


def test_a_stopped_process_is_let_go_once_and_a_live_one_is_not(meeting):
    now = timezone.now()
    ServerProcess.objects.create(name=DEAD, seen_at=now - dt.timedelta(seconds=60))
    ServerProcess.objects.create(name=ALIVE, seen_at=now - dt.timedelta(seconds=1))
    dead = held(meeting, DEAD, 1)
    alive = held(meeting, ALIVE, 2)
    assert presence.beat(now) == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.state, dead.left_because) == ("left", "disconnected")
    assert alive.state == "admitted"
    names = set(ServerProcess.objects.values_list("name", flat=True))
    assert names == {ALIVE, presence.SERVER_NAME}
    # Its row is gone: the next beat (or another process's) lets go of nobody again.
    assert presence.beat(now) == 0


def test_someone_who_resumed_elsewhere_is_not_let_go_with_the_old_process(meeting):
    now = timezone.now()
    ServerProcess.objects.create(name=DEAD, seen_at=now - dt.timedelta(seconds=60))
    moved = held(meeting, DEAD, 3)
    moved.server, moved.channel_name = OTHER, f"specific.{OTHER}!3"
    moved.save()
    assert presence.beat(now) == 0
    moved.refresh_from_db()
    assert moved.state == "admitted"


def test_only_sockets_closed_as_this_process_stops_keep_their_places(monkeypatch):
    monkeypatch.setattr(presence, "_stopping", False)
    # A browser closing with the "service restart" code is not the server stopping.
    assert not presence.keeps_place(presence.SERVER_STOPPING)
    presence.stopping()
    assert presence.keeps_place(presence.SERVER_STOPPING)
    assert not presence.keeps_place(1000) and not presence.keeps_place(1006)


def test_a_stopped_process_on_another_channel_layer_is_left_to_its_own(meeting):
    """A process could never tell the hosts on another layer: processes of that layer do."""
    now = timezone.now()
    elsewhere = "r_0123abcd_dead" if presence.LAYER_PREFIX == "m_" else "m_dead"
    ServerProcess.objects.create(name=elsewhere, seen_at=now - dt.timedelta(seconds=60))
    theirs = held(meeting, elsewhere, 4)
    assert presence.beat(now) == 0
    theirs.refresh_from_db()
    assert theirs.state == "admitted"
    assert ServerProcess.objects.filter(name=elsewhere).exists()
