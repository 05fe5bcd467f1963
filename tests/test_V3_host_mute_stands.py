"""Rule V3: nobody is ever unmuted by someone else, Haven included.

A host's mute lives on the person's participant row, not in a connection or a Janus room,
so that it outlasts what sets their media up again: their connection resuming on a new
socket, Janus restarting. Their next feed is muted on Janus when it is published (Janus
itself says so, to a probe in the room), and they are told `muted_by_host` again. Only
their own `unmute_self` lifts it.
"""

import datetime as dt
import json
from typing import Any

import pytest
from playwright.sync_api import expect

from haven.audit.log import Actor
from haven.audit.models import AuditEvent
from haven.invitations.models import Invitation
from haven.meetings.models import Meeting as MeetingRow
from haven.policy.rules import Role, Source
from haven.room import actions
from haven.room.access import Identity
from haven.room.models import Participant
from tests.harness import database, flows, ui
from tests.harness.browser import chromium
from tests.harness.flows import Socket
from tests.harness.janus_probe import JanusProbe
from tests.harness.stack import Stack
from tests.harness.unit import scheduled_meeting
from tests.test_in_meeting_protocol import Meeting, media_session_opened, start_meeting
from tests.test_media_janus import synthetic_offer


@pytest.mark.django_db
def test_V3_the_host_mute_stays_on_the_row_through_lost_feeds_until_the_person_unmutes():
    meeting = scheduled_meeting()
    MeetingRow.objects.filter(pk=meeting.pk).update(state=MeetingRow.State.LIVE)
    invitation = Invitation.objects.create(
        meeting=meeting,
        name="Sam Carter",
        email="sam@example.org",
        role="parent_carer",
        expires_at=meeting.starts_at + dt.timedelta(days=1),
        invited_by=meeting.host,
    )
    admitted = Participant.State.ADMITTED
    host = Participant.objects.create(
        public_id="p_host", meeting=meeting, user=meeting.host, name="Alex", state=admitted
    )
    sam = Participant.objects.create(
        public_id="p_sam", meeting=meeting, invitation=invitation, name="Sam", state=admitted
    )
    identity = Identity(meeting, Role.HOST, "Alex Morgan", user=meeting.host)

    assert [t.public_id for t in actions.do_mute(host, identity, "p_sam")] == ["p_sam"]
    assert actions.do_record_feed(sam, Source.CAMERA, 42, "0") is True
    actions.do_forget_feed(sam)  # the media server restarted: the feed is gone, not the mute
    assert actions.host_mute_stands(sam)
    assert actions.do_record_feed(sam, Source.CAMERA, 43, "0") is True
    assert actions.host_mute_stands(host) is False  # the host muted nobody else

    assert actions.do_unmute_self(sam, Actor.invitee(invitation)) is True
    assert actions.do_unmute_self(sam, Actor.invitee(invitation)) is False
    assert actions.do_record_feed(sam, Source.CAMERA, 44, "0") is False
    assert AuditEvent.objects.filter(action="room.unmuted_self").count() == 1


def publish(socket: Socket) -> dict[str, Any]:
    """Send a camera and microphone offer, as the page does (after a restart too)."""
    offer = {"type": "offer", "sdp": synthetic_offer()}
    published = socket.request({"type": "publish", "jsep": offer})
    assert published["type"] == "published", published
    return published


def host_muted(stack: Stack, pid: str) -> bool:
    rows = database.query(stack, "SELECT host_muted FROM room_participant WHERE public_id = ?", pid)
    return bool(rows[0]["host_muted"])


def reapplied(stack: Stack, meeting_id: str) -> list[dict[str, Any]]:
    """The audit's record of each time a standing mute was applied to a new feed."""
    rows = ui.audit_about(stack, "room.mute_reapplied", meeting_id)
    for row in rows:
        assert json.loads(row["details"]) == {}, "no personal data in its details"
        assert row["actor_kind"] == "system" and row["subject_ref"] == ""
    return rows


def let_in(stack: Stack, meeting: Meeting, name: str) -> tuple[Socket, str, str, Any]:
    """Someone invited comes in; returns their socket, id, resume secret and client."""
    invited = flows.invite(stack, meeting.host_client, meeting.id, name)
    client = flows.enter_passcode(stack, invited)
    socket = Socket(stack, client, meeting.id)
    secret = flows.join(socket)["resume"]
    waiting = meeting.waiting(name)
    pid = next(p["participant"] for p in waiting if p["name"] == name)
    meeting.host.send({"type": "admit", "participant": pid})
    socket.expect("admitted")
    media_session_opened(stack, pid)
    return socket, pid, secret, client


def test_V3_a_host_mute_stands_after_janus_restarts_until_the_person_unmutes(stack):
    meeting = start_meeting(stack)
    sam, sam_pid, _, _ = let_in(stack, meeting, "Sam Carter")
    kim, kim_pid, _, _ = let_in(stack, meeting, "Kim Lee")
    meeting.host.send({"type": "mute", "participant": sam_pid})
    assert sam.expect("muted_by_host") == {"type": "muted_by_host"}
    assert host_muted(stack, sam_pid) and not host_muted(stack, kim_pid)

    stack.restart_janus()
    for socket in (sam, kim):
        socket.expect("media_restarted", timeout=30)
    publish(meeting.host)  # the host's page publishes again first: the room is back
    probe = JanusProbe.join(stack, meeting.id)
    try:
        # Each page publishes again, as it does after media_restarted.
        sam_feed = publish(sam)["feed"]
        assert sam.expect("muted_by_host") == {"type": "muted_by_host"}
        assert probe.moderation(sam_feed) == "muted"
        kim_feed = publish(kim)["feed"]
        probe.no_moderation(kim_feed)  # nobody muted Kim
        assert [m for m in kim.nothing_arrives(0.5) if m["type"] == "muted_by_host"] == []

        # Only Sam lifts it, and then it is gone for good.
        assert sam.request({"type": "unmute_self"}) == {"type": "unmuted"}
        assert probe.moderation(sam_feed) == "unmuted"
    finally:
        probe.close()
    assert not host_muted(stack, sam_pid)
    assert len(reapplied(stack, meeting.id)) == 1
    assert len(ui.audit_about(stack, "room.unmuted_self", meeting.id)) == 1


def test_V3_a_host_mute_stands_on_a_resumed_connection_until_the_person_unmutes(stack):
    meeting = start_meeting(stack)
    old, sam_pid, secret, client = let_in(stack, meeting, "Sam Carter")
    publish(old)
    meeting.host.send({"type": "mute", "participant": None})
    assert old.expect("muted_by_host") == {"type": "muted_by_host"}
    probe = JanusProbe.join(stack, meeting.id)
    try:
        # Sam's page reconnects on a new socket and resumes their place with the secret.
        new = Socket(stack, client, meeting.id)
        flows.greet(new)
        again = new.request({"type": "join", "private_place_confirmed": True, "resume": secret})
        assert again["type"] == "admitted" and again["you"] == sam_pid
        feed = publish(new)["feed"]
        assert new.expect("muted_by_host") == {"type": "muted_by_host"}
        assert probe.moderation(feed) == "muted"
        assert host_muted(stack, sam_pid)

        assert new.request({"type": "unmute_self"}) == {"type": "unmuted"}
        assert probe.moderation(feed) == "unmuted"
        assert not host_muted(stack, sam_pid)
    finally:
        probe.close()
    assert len(reapplied(stack, meeting.id)) == 1


SUBSCRIBED = """() => [...window.haven.peerConnections.subscribers.values()]
  .some((pc) => pc.connectionState === "connected")"""
MUTED_SINCE_RESTART = """() => {
  const received = window.haven.received;
  return received.lastIndexOf("muted_by_host") > received.lastIndexOf("media_restarted");
}"""


def test_V3_the_attendee_page_shows_the_host_mute_again_after_janus_restarts(stack):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        sam = ui.attendee_waits(browser, stack, meeting)
        ui.let_in(host, sam)
        page = sam.page
        page.wait_for_function("() => window.haven.mic.enabled === true")
        assert ui.wait_for_inbound(host, kind="audio") > 0, "the host never heard Sam"
        host.get_by_role("button", name="Mute Sam Carter").click()
        page.wait_for_function("() => window.haven.mic.hostMuted === true")

        stack.restart_janus()
        for each in (host, page):
            each.wait_for_function(
                "() => window.haven.received.includes('media_restarted')", timeout=20_000
            )
        page.wait_for_function(MUTED_SINCE_RESTART, timeout=30_000)
        assert ui.haven(page, "mic") == {"enabled": False, "hostMuted": True}
        expect(page.locator("#mic-button")).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#host-request")).to_have_text(
            "The host muted your microphone. You can unmute yourself when you want to speak."
        )
        # Sam's new feed reaches the host, without sound: Janus mutes it.
        host.wait_for_function(SUBSCRIBED, timeout=30_000)
        host.wait_for_timeout(1000)
        muted_at = ui.inbound(host)["audio"]["packets"]
        host.wait_for_timeout(2000)
        assert ui.inbound(host)["audio"]["packets"] - muted_at <= 2
        assert muted_on_janus(stack, meeting.id) == {"Sam Carter": True, "Alex Morgan": False}

        # Sam unmutes themself: the sound comes back.
        page.locator("#mic-button").click()
        page.wait_for_function("() => window.haven.mic.enabled === true")
        assert ui.haven(page, "mic.hostMuted") is False
        assert ui.wait_for_inbound(host, kind="audio", more_than=muted_at + 10) > muted_at + 10
        assert muted_on_janus(stack, meeting.id) == {"Sam Carter": False, "Alex Morgan": False}
    assert len(ui.audit_about(stack, "room.mute_reapplied", meeting.id)) == 1


def muted_on_janus(stack: Stack, meeting_id: str) -> dict[str, bool]:
    """Janus's own list of whose microphone it has muted, by name."""
    probe = JanusProbe.join(stack, meeting_id)
    try:
        return {name: probe.audio_moderated(name) for name in ("Sam Carter", "Alex Morgan")}
    finally:
        probe.close()
