"""A real two-person meeting: two Chromium contexts, a real Haven, a real Janus.

Everything runs in the test run's own network namespace; media flows over its veth pair.
"""

import json
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.harness import flows
from tests.harness.browser import axe_violations, chromium, chromiums
from tests.harness.staff import sign_in_browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
pytestmark = pytest.mark.browser

# Media statistics of every receiving connection on the page, by kind.
INBOUND_STATS = """async () => {
  const totals = {video: {frames: 0, packets: 0}, audio: {samples: 0, packets: 0}};
  for (const pc of window.haven.peerConnections.subscribers.values()) {
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type !== "inbound-rtp") return;
      if (s.kind === "video") { totals.video.frames += s.framesDecoded || 0; totals.video.packets += s.packetsReceived || 0; }
      if (s.kind === "audio") { totals.audio.samples += s.totalSamplesReceived || 0; totals.audio.packets += s.packetsReceived || 0; }
    });
  }
  return totals;
}"""

DIAGNOSE = """async () => {
  const out = {received: window.haven.received, subscribers: []};
  for (const [feed, pc] of window.haven.peerConnections.subscribers) {
    const stats = [];
    (await pc.getStats()).forEach((s) => { if (s.type === "inbound-rtp" || s.type === "candidate-pair") stats.push(s); });
    out.subscribers.push({feed, ice: pc.iceConnectionState, conn: pc.connectionState, stats});
  }
  return out;
}"""

HAVEN_STATE = "() => window.haven && { state: window.haven.state, received: window.haven.received, publisher: window.haven.peerConnections.publisher !== null, subscribers: window.haven.peerConnections.subscribers.size, metrics: window.haven.metrics }"


def check_accessible(page: Page, where: str) -> None:
    assert axe_violations(page) == [], f"axe-core violations on {where}"


def schedule_and_invite(page: Page, stack, attendee_email: str) -> str:
    check_accessible(page, "meetings list")
    page.get_by_label("Title").fill("Annual review for Sam")
    page.get_by_label("Type of meeting").select_option(label="One-to-one meeting")
    page.get_by_label("Date and start time").fill("2030-01-15T10:00")
    page.get_by_role("button", name="Schedule meeting").click()
    expect(page.get_by_role("heading", name="Annual review for Sam")).to_be_visible()
    check_accessible(page, "meeting page")
    page.get_by_label("Full name").fill("Sam Carter")
    page.get_by_label("Email address").fill(attendee_email)
    page.get_by_label("They are a").select_option(label="Parent or carer")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to Sam Carter")).to_be_visible()
    return page.url.rstrip("/").split("/")[-1]


def prejoin(page: Page, *, camera: bool) -> None:
    expect(page.get_by_role("heading", name="Before you join")).to_be_visible()
    # The heading shows before the page's script has wired up the controls.
    page.wait_for_function("() => window.haven && window.haven.ready === true")
    # Rule V1: the camera is off until the person turns it on.
    expect(page.locator("#camera-on")).not_to_be_checked()
    if camera:
        page.locator("#camera-on").check()
    # Rule S9: joining needs the confirmation; without it, a clear error and no join.
    page.locator("#join-button").click()
    expect(page.locator("#private-place-error")).to_be_visible()
    page.locator("#private-place").check()
    page.locator("#join-button").click()


def wait_for_media(page: Page, timeout_s: float = 20) -> dict[str, Any]:
    """Poll getStats until video frames are decoded and audio samples arrive."""
    deadline = time.monotonic() + timeout_s
    totals = page.evaluate(INBOUND_STATS)
    while time.monotonic() < deadline:
        if totals["video"]["frames"] > 0 and totals["audio"]["samples"] > 0:
            return totals
        page.wait_for_timeout(100)
        totals = page.evaluate(INBOUND_STATS)
    return totals


def attendee_requests_once_published(stack, since: int, timeout_s: float = 20) -> list[str]:
    """The requests Haven sent Janus for the attendee (the one who sent `start`), once their
    own `publish` is among them (or the timeout passes: the caller's assert then says why)."""
    deadline = time.monotonic() + timeout_s
    while True:
        requests = [line.split() for line in stack.media_requests()[since:]]
        starter = next((label for _, request, label in requests if request == "start"), None)
        mine = [request for _, request, label in requests if label == starter]
        if "publish" in mine or time.monotonic() > deadline:
            return mine
        time.sleep(0.1)


def test_S2_V1_S9_two_people_meet_through_janus(stack):
    attendee_email = flows.unique_email("sam")
    host_email = flows.unique_email("host")
    password = stack.create_staff(host_email)
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium(stack) as browser:
        host_context = browser.new_context(viewport={"width": 1280, "height": 800})
        attendee_context = browser.new_context(viewport={"width": 360, "height": 740})
        host = host_context.new_page()
        attendee = attendee_context.new_page()

        sign_in_browser(host, stack, host_email, password)
        meeting_id = schedule_and_invite(host, stack, attendee_email)
        invited_link, passcode = flows.read_access_emails(stack, attendee_email)

        # The attendee: link, passcode, pre-join, waiting room.
        attendee.goto(invited_link)
        check_accessible(attendee, "passcode page")
        attendee.get_by_label("Passcode").fill(passcode)
        attendee.get_by_role("button", name="Continue").click()
        check_accessible(attendee, "pre-join screen")
        prejoin(attendee, camera=True)
        attendee.wait_for_function("() => window.haven && window.haven.state === 'waiting'")
        check_accessible(attendee, "waiting room")
        # The same two lists as the consent page: the rules, and their easy-read version.
        waiting = attendee.locator("#screen-waiting")
        expect(waiting.get_by_role("heading", name="The same rules in easy read")).to_be_visible()
        easy_read = waiting.locator(".easy-read li")
        expect(easy_read.first).to_have_text(
            "Be in a private place. Nobody else should hear you or see your screen."
        )
        assert not any(line.startswith("-") for line in waiting.locator("li").all_inner_texts())

        # The host: into the room, sees Sam waiting.
        host.goto(f"{stack.base_url}/room/{meeting_id}/")
        prejoin(host, camera=True)
        host.wait_for_function("() => window.haven && window.haven.state === 'in_meeting'")
        let_in = host.get_by_role("button", name="Let in Sam Carter")
        expect(let_in).to_be_visible(timeout=10_000)
        # The host publishes and is in the meeting; the waiting attendee still gets nothing.
        host.wait_for_function(
            "() => window.haven.peerConnections.publisher &&"
            " window.haven.peerConnections.publisher.connectionState === 'connected'",
            timeout=15_000,
        )
        host.wait_for_timeout(1000)
        waiting = attendee.evaluate(HAVEN_STATE)
        assert waiting["received"] == ["welcome", "waiting"], waiting
        assert waiting["publisher"] is False and waiting["subscribers"] == 0
        check_accessible(host, "meeting room (host)")

        requests_before = len(stack.media_requests())
        let_in.click()
        attendee.wait_for_function("() => window.haven.state === 'in_meeting'")
        attendee_media = wait_for_media(attendee)
        # Seeing the host comes first: the attendee's answer for the host's feed reaches
        # Janus before their own publish (one message at a time per person on the server).
        # The publish can follow the first frames on a loaded machine: wait for it.
        mine = attendee_requests_once_published(stack, requests_before)
        assert mine.index("start") < mine.index("publish"), mine
        host_media = wait_for_media(host)
        diagnosis = attendee.evaluate(DIAGNOSE)
        assert attendee_media["video"]["frames"] > 0, (attendee_media, diagnosis)
        assert attendee_media["audio"]["samples"] > 0, (attendee_media, diagnosis)
        assert host_media["video"]["frames"] > 0 and host_media["audio"]["samples"] > 0
        attendee.wait_for_function("() => window.haven.metrics.firstRemoteFrameAt !== null")
        metrics = attendee.evaluate("() => window.haven.metrics")
        admit_to_first_frame_ms = metrics["firstRemoteFrameAt"] - metrics["admittedAt"]
        print(f"\nadmit -> attendee's first decoded frame: {admit_to_first_frame_ms:.0f} ms")
        (ARTIFACTS / "meeting-metrics.json").write_text(
            json.dumps({"admit_to_first_frame_ms": round(admit_to_first_frame_ms)}) + "\n"
        )
        check_accessible(attendee, "meeting room (attendee, phone width)")
        expect(attendee.get_by_text("This meeting is not recorded.")).to_be_visible()
        host.wait_for_timeout(500)
        host.screenshot(path=str(ARTIFACTS / "meeting.png"), full_page=True)

        # Sam leaves; the host sees the feed go. Then the host ends the meeting.
        attendee.locator("#meeting-leave").click()
        attendee.wait_for_function("() => window.haven.state === 'ended'")
        host.wait_for_function("() => window.haven.peerConnections.subscribers.size === 0")
        host.locator("#end-meeting").click()
        host.locator("#end-confirm-yes").click()
        host.wait_for_function("() => window.haven.state === 'ended'")
    # The admission is audited against Sam's invitation, by the host.
    admissions = [row for row in stack.audit("room.admitted") if host_email in row["actor_label"]]
    assert len(admissions) == 1 and admissions[0]["invitation_id"] is not None
    assert [r for r in stack.audit("meeting.ended") if host_email in r["actor_label"]]


def two_people_seeing_each_other(browser: Browser, stack) -> tuple[Page, Page, str]:
    """A host and Sam Carter, each with a camera, in a meeting: both pages show the
    other's video. Returns (host page, attendee page, meeting id)."""
    attendee_email = flows.unique_email("sam")
    host_email = flows.unique_email("host")
    password = stack.create_staff(host_email)
    host = browser.new_context().new_page()
    attendee = browser.new_context().new_page()
    sign_in_browser(host, stack, host_email, password)
    meeting_id = schedule_and_invite(host, stack, attendee_email)
    link, passcode = flows.read_access_emails(stack, attendee_email)
    attendee.goto(link)
    attendee.get_by_label("Passcode").fill(passcode)
    attendee.get_by_role("button", name="Continue").click()
    prejoin(attendee, camera=True)
    host.goto(f"{stack.base_url}/room/{meeting_id}/")
    prejoin(host, camera=True)
    host.get_by_role("button", name="Let in Sam Carter").click()
    assert wait_for_media(attendee)["video"]["frames"] > 0
    assert wait_for_media(host)["video"]["frames"] > 0
    return host, attendee, meeting_id


def test_media_comes_back_after_janus_restarts(stack):
    """Janus crashes mid-meeting: Haven reconnects, re-creates the room, media flows again."""
    with chromium(stack) as browser:
        host, attendee, _ = two_people_seeing_each_other(browser, stack)

        stack.restart_janus()
        started = time.monotonic()
        for page in (host, attendee):
            page.wait_for_function(
                "() => window.haven.received.includes('media_restarted')", timeout=20_000
            )
        attendee_media = wait_for_media(attendee, timeout_s=30)
        host_media = wait_for_media(host, timeout_s=30)
        print(f"\nJanus restart -> media back both ways: {time.monotonic() - started:.1f} s")
        assert attendee_media["video"]["frames"] > 0 and attendee_media["audio"]["samples"] > 0
        assert host_media["video"]["frames"] > 0 and host_media["audio"]["samples"] > 0
        assert attendee.evaluate("() => window.haven.state") == "in_meeting"


def test_V1_someone_with_no_camera_and_no_microphone_still_takes_part(stack):
    """An attendee whose browser has no camera or microphone at all joins, sees and hears."""
    attendee_email = flows.unique_email("nodevices")
    host_email = flows.unique_email("host")
    password = stack.create_staff(host_email)
    with chromiums(stack, True, False) as (host_browser, bare_browser):
        host = host_browser.new_context().new_page()
        attendee = bare_browser.new_context().new_page()
        sign_in_browser(host, stack, host_email, password)
        meeting_id = schedule_and_invite(host, stack, attendee_email)
        link, passcode = flows.read_access_emails(stack, attendee_email)
        attendee.goto(link)
        attendee.get_by_label("Passcode").fill(passcode)
        attendee.get_by_role("button", name="Continue").click()
        expect(attendee.get_by_role("heading", name="Before you join")).to_be_visible()
        attendee.wait_for_function("() => window.haven && window.haven.ready === true")
        kinds = attendee.evaluate(
            "async () => (await navigator.mediaDevices.enumerateDevices()).map((d) => d.kind)"
        )
        assert "audioinput" not in kinds and "videoinput" not in kinds, kinds
        attendee.locator("#private-place").check()
        attendee.locator("#join-button").click()
        attendee.wait_for_function("() => window.haven && window.haven.state === 'waiting'")
        host.goto(f"{stack.base_url}/room/{meeting_id}/")
        prejoin(host, camera=True)
        host.get_by_role("button", name="Let in Sam Carter").click()
        attendee.wait_for_function("() => window.haven.state === 'in_meeting'")
        media = wait_for_media(attendee)
        assert media["video"]["frames"] > 0 and media["audio"]["samples"] > 0
        sending = attendee.evaluate(
            "() => window.haven.peerConnections.publisher.getSenders().filter((s) => s.track).length"
        )
        assert sending == 0
        roster = host.locator("#roster-list")
        expect(roster).to_contain_text("Sam Carter")
        check_accessible(attendee, "meeting room with no devices")
