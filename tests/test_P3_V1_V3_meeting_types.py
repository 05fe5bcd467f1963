"""Rule P3, by construction: a meeting type whose attendees start muted (training
session, youth group) lets them in with their microphone and camera off, and the media
server keeps both off until they turn each on themselves (V1: video optional; V3: nobody
is unmuted by anyone else). A one-to-one meeting does not, and a host never starts muted.

Janus itself is the witness: a probe in the meeting's room hears it mute the attendee's
first feed, sound and picture, before their page could send anything, and unmute each
only on the attendee's own `unmute_self` / `camera_on_self`; in the browser, Janus lists
the feed's streams as moderated and the host receives no sound and no picture from them.
"""

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from haven.audit.log import Actor
from haven.audit.models import AuditEvent
from haven.room import actions
from tests.harness import database, flows, ui
from tests.harness.browser import chromium
from tests.harness.flows import Socket
from tests.harness.janus_probe import JanusProbe
from tests.harness.stack import Stack
from tests.test_in_meeting_protocol import MEDIA_CONTROL, Meeting, arrive, media_session_opened
from tests.test_in_meeting_protocol import start_meeting as one_to_one_meeting
from tests.test_S1_P3_admission_rules import Room
from tests.test_S8_access_rechecked_on_join import assert_nothing_logged_at_error
from tests.test_V3_host_mute_stands import publish

AUDIO, VIDEO = "0", "1"  # the mids of tests.test_media_janus.synthetic_offer()


# In-process: the actions, against Django's test database


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "held"), [("training", True), ("youth_group", True)])
def test_P3_V3_a_training_or_youth_group_attendee_is_held_until_they_lift_each_themselves(
    kind, held
):
    room = Room(kind)
    sam, kim = room.person("Sam"), room.person("Kim")
    actions.do_admit(room.host, room.identity, sam.public_id)
    actions.do_admit(room.host, room.identity, kim.public_id)
    assert actions.standing_mutes(sam) == actions.StandingMutes(
        host_muted=False, muted_on_entry=held, camera_off_on_entry=held
    )
    assert actions.standing_mutes(sam).audio is held
    assert actions.standing_mutes(room.host) == actions.StandingMutes()  # never the host
    actor = Actor.invitee(sam.invitation)  # type: ignore[arg-type]

    # Their own unmute lifts their microphone's hold only; their camera stays held.
    assert actions.do_unmute_self(sam, actor) is False  # not the host's mute
    assert actions.standing_mutes(sam) == actions.StandingMutes(camera_off_on_entry=True)
    assert actions.do_camera_on_self(sam, actor) is True
    assert actions.do_camera_on_self(sam, actor) is False  # nothing left to lift
    assert actions.standing_mutes(sam) == actions.StandingMutes()
    # Kim is held still: what Sam did was for Sam alone (V3).
    assert actions.standing_mutes(kim) == actions.StandingMutes(False, True, True)
    lifted = AuditEvent.objects.filter(action__in=["room.unmuted_self", "room.camera_on_self"])
    assert [row.action for row in lifted.order_by("id")] == [
        "room.unmuted_self",
        "room.camera_on_self",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["one_to_one", "appeal_support"])
def test_P3_V1_a_one_to_one_or_appeal_attendee_is_not_held(kind):
    room = Room(kind)
    sam = room.person("Sam")
    actions.do_admit(room.host, room.identity, sam.public_id)
    assert actions.standing_mutes(sam) == actions.StandingMutes()


# Live: over the protocol, against a running Haven and Janus


def training_meeting(stack: Stack) -> Meeting:
    host_client, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host_client, "Training", kind="training")
    host = Socket(stack, host_client, meeting_id)
    return Meeting(meeting_id, host_client, host, flows.join(host)["you"])


def let_in(stack: Stack, meeting: Meeting, name: str) -> tuple[Socket, str, dict[str, Any]]:
    socket, pid, _, _ = arrive(stack, meeting, name)
    meeting.host.send({"type": "admit", "participant": pid})
    admitted = socket.expect("admitted")
    media_session_opened(stack, pid)
    return socket, pid, admitted


def held(stack: Stack, pid: str) -> tuple[bool, bool]:
    rows = database.query(
        stack,
        "SELECT muted_on_entry, camera_off_on_entry FROM room_participant WHERE public_id = ?",
        pid,
    )
    return bool(rows[0]["muted_on_entry"]), bool(rows[0]["camera_off_on_entry"])


def test_P3_V1_V3_a_training_attendees_first_feed_is_muted_on_janus_until_they_turn_each_on(
    stack,
):
    meeting = training_meeting(stack)
    sam, sam_pid, admitted = let_in(stack, meeting, "Sam Carter")
    assert admitted["muted_on_entry"] is True and admitted["camera_off_on_entry"] is True
    kim, kim_pid, _ = let_in(stack, meeting, "Kim Lee")
    assert held(stack, sam_pid) == (True, True) and held(stack, kim_pid) == (True, True)
    logged = stack.log.stat().st_size
    probe = JanusProbe.join(stack, meeting.id)
    try:
        # Sam's page publishes sound and picture, as any page might: Janus mutes both
        # before the answer reaches Sam, so nothing of it can reach anyone.
        sam_feed = publish(sam)["feed"]
        assert probe.moderation(sam_feed, mid=AUDIO) == "muted"
        assert probe.moderation(sam_feed, mid=VIDEO) == "muted"
        assert [m for m in sam.nothing_arrives(0.5) if m["type"] == "muted_by_host"] == []
        # The host is never held: their feed goes out as it is.
        host_feed = publish(meeting.host)["feed"]
        probe.no_moderation(host_feed)

        # Nobody else lifts it (V3): the host's own unmute and camera, Kim's, and a
        # message naming Sam, all leave Sam's feed as it was.
        before = stack.media_requests()
        assert meeting.host.request({"type": "unmute_self"}) == {"type": "unmuted"}
        assert meeting.host.request({"type": "camera_on_self"}) == {"type": "camera_on"}
        assert kim.request({"type": "unmute_self"}) == {"type": "unmuted"}
        assert kim.request({"type": "camera_on_self"}) == {"type": "camera_on"}
        for socket in (meeting.host, kim):
            named = socket.request({"type": "camera_on_self", "participant": sam_pid})
            assert named["code"] == "bad_message", named
            named = socket.request({"type": "unmute_self", "participant": sam_pid})
            assert named["code"] == "bad_message", named
        probe.no_moderation(sam_feed)
        assert held(stack, sam_pid) == (True, True) and held(stack, kim_pid) == (False, False)
        # Only the host's own feed was unmuted on Janus (Kim has published nothing).
        new = [line.split() for line in stack.media_requests()[len(before) :]]
        assert [line for line in new if line[1] == "moderate"] == [
            ["message", "moderate", f"haven-{meeting.host_pid}"],
            ["message", "moderate", f"haven-{meeting.host_pid}"],
        ]

        # Sam turns their microphone on: only its sound goes through.
        assert sam.request({"type": "unmute_self"}) == {"type": "unmuted"}
        assert probe.moderation(sam_feed, mid=AUDIO) == "unmuted"
        probe.no_moderation(sam_feed)
        assert held(stack, sam_pid) == (False, True)
        # Then their camera: its picture goes through too.
        assert sam.request({"type": "camera_on_self"}) == {"type": "camera_on"}
        assert probe.moderation(sam_feed, mid=VIDEO) == "unmuted"
        assert held(stack, sam_pid) == (False, False)
    finally:
        probe.close()
    lifted = ui.audit_about(stack, "room.camera_on_self", meeting.id)
    assert [row["actor_kind"] for row in lifted] == ["attendee", "attendee"]  # Kim, Sam
    assert_nothing_logged_at_error(stack, logged)


def test_P3_V3_the_hold_stands_on_a_resumed_connection_until_the_person_lifts_it(stack):
    meeting = training_meeting(stack)
    invited = flows.invite(stack, meeting.host_client, meeting.id, "Sam Carter")
    client = flows.enter_passcode(stack, invited)
    old = Socket(stack, client, meeting.id)
    secret = flows.join(old)["resume"]
    pid = meeting.waiting("Sam Carter")[0]["participant"]
    meeting.host.send({"type": "admit", "participant": pid})
    old.expect("admitted")
    media_session_opened(stack, pid)
    assert old.request({"type": "unmute_self"}) == {"type": "unmuted"}  # before publishing
    probe = JanusProbe.join(stack, meeting.id)
    try:
        # Sam's page reconnects on a new socket: it is told what still stands.
        new = Socket(stack, client, meeting.id)
        flows.greet(new)
        again = new.request({"type": "join", "private_place_confirmed": True, "resume": secret})
        assert again["type"] == "admitted" and again["you"] == pid
        assert "muted_on_entry" not in again and again["camera_off_on_entry"] is True
        feed = publish(new)["feed"]
        assert probe.moderation(feed, mid=VIDEO) == "muted"
        probe.no_moderation(feed)  # their sound was theirs to turn on, and they did
    finally:
        probe.close()


def test_P3_V1_a_one_to_one_attendee_starts_as_they_chose(stack):
    meeting = one_to_one_meeting(stack)
    sam, sam_pid, admitted = let_in(stack, meeting, "Sam Carter")
    assert "muted_on_entry" not in admitted and "camera_off_on_entry" not in admitted
    assert held(stack, sam_pid) == (False, False)
    probe = JanusProbe.join(stack, meeting.id)
    try:
        probe.no_moderation(publish(sam)["feed"])
    finally:
        probe.close()


def test_P3_S2_someone_waiting_cannot_lift_a_hold_and_nothing_reaches_janus(stack):
    meeting = training_meeting(stack)
    waiting, _, _, _ = arrive(stack, meeting, "Wes Waiting")
    before, refused_before = stack.media_requests(), len(stack.audit("protocol.refused"))
    for kind in ("unmute_self", "camera_on_self"):
        refused = waiting.request({"type": kind})
        assert refused["type"] == "error" and refused["code"] == "not_allowed", refused
    refused = stack.audit("protocol.refused")[refused_before:]
    assert [json.loads(row["details"])["message_type"] for row in refused] == [
        "unmute_self",
        "camera_on_self",
    ]
    new = stack.media_requests()[len(before) :]
    assert not [line for line in new if line.split()[1] in MEDIA_CONTROL], new


# In Chromium, with real media


START_MUTED = (
    "You start with your microphone off and camera off in this training session. "
    "Turn them on when you want to speak."
)
SUBSCRIBED = """() => [...window.haven.peerConnections.subscribers.values()]
  .some((pc) => pc.connectionState === "connected")"""


def moderated_on_janus(stack: Stack, meeting_id: str, name: str) -> dict[str, bool]:
    """Janus's own list: whether it holds back `name`'s sound and picture."""
    probe = JanusProbe.join(stack, meeting_id)
    try:
        return {kind: probe.audio_moderated(name, kind) for kind in ("audio", "video")}
    finally:
        probe.close()


def test_P3_V1_V3_a_training_attendee_arrives_muted_with_camera_off_and_turns_them_on(stack):
    host_client, email = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host_client, "Training", kind="training")
    meeting = ui.Meeting(meeting_id, host_client, email)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting, camera=True)
        # Sam turns the camera on before joining (V1: their choice, then); the page says
        # before they join that the session starts with both off.
        sam = ui.attendee_waits(browser, stack, meeting, camera=True, viewport=ui.PHONE)
        page = sam.page
        expect(page.locator("#prejoin-start-muted")).to_have_text(
            "In this training session you start with your microphone off and camera off. "
            "You can turn them on in the meeting."
        )
        ui.let_in(host, sam)
        expect(page.locator("#host-request")).to_have_text(START_MUTED)
        page.wait_for_function("() => window.haven.received.includes('published')")
        assert ui.haven(page, "mic") == {"enabled": False, "hostMuted": False}
        expect(page.locator("#mic-button")).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#camera-button")).to_have_attribute("aria-pressed", "false")
        expect(page.locator("#media-status")).to_have_text("You are muted. Your camera is off.")
        assert page.evaluate("() => document.getElementById('own-video').srcObject") is None
        ui.assert_accessible(page, "a training session, arrived muted with the camera off")
        ui.assert_fits(page, "a training session at 320 px, arrived muted")

        # Janus holds both back, and the host receives no sound and no picture from Sam.
        host.wait_for_function(SUBSCRIBED, timeout=30_000)
        host.wait_for_timeout(1000)
        assert moderated_on_janus(stack, meeting.id, "Sam Carter") == {
            "audio": True,
            "video": True,
        }
        assert moderated_on_janus(stack, meeting.id, "Alex Morgan")["audio"] is False
        quiet = ui.inbound(host)
        host.wait_for_timeout(2000)
        still = ui.inbound(host)
        assert still["audio"]["packets"] - quiet["audio"]["packets"] <= 2
        assert still["video"]["frames"] == quiet["video"]["frames"] == 0

        # Sam turns the microphone on, themselves: the host hears them.
        page.locator("#mic-button").click()
        page.wait_for_function("() => window.haven.mic.enabled === true")
        expect(page.locator("#host-request")).to_have_text("")
        more = quiet["audio"]["packets"] + 20
        assert ui.wait_for_inbound(host, kind="audio", more_than=more) > more
        # Then the camera: the host sees them.
        page.locator("#camera-button").click()
        expect(page.locator("#camera-button")).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#media-status")).to_have_text(
            "Your microphone is on. Your camera is on."
        )
        host.wait_for_function(
            f"async () => (await ({ui.INBOUND_STATS})()).video.frames > 10", timeout=20_000
        )
        assert moderated_on_janus(stack, meeting.id, "Sam Carter") == {
            "audio": False,
            "video": False,
        }
        ui.assert_accessible(page, "a training session, microphone and camera turned on")
