"""The meeting page in use: the host's controls and what attendees see of them.

Real Chromium contexts (one per person or device), a real Haven and a real Janus, in the
test run's own network namespace. Each test drives the page as a person would (buttons,
forms, the keyboard) and checks what the others see, window.haven and the audit log.
"""

import datetime as dt
import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.harness import database, ui
from tests.harness.browser import chromium

pytestmark = pytest.mark.browser

LOCKED_WAITING_TEXT = (
    "The meeting is locked, so nobody new can come in at the moment. "
    "Please wait: the host knows you are here."
)
LOCKED_STATUS = "The meeting is locked. Nobody new can come in."


def test_S3_locked_meeting_holds_arrivals_tells_them_and_the_host_then_unlock_lets_in(stack):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        lock = host.locator("#lock-button")
        expect(lock).to_have_text("Lock the meeting")
        lock.click()
        expect(host.locator("#lock-status")).to_have_text(LOCKED_STATUS)
        expect(lock).to_have_text("Unlock the meeting")

        sam = ui.attendee_waits(browser, stack, meeting, "Sam Carter")
        expect(sam.page.locator("#waiting-message")).to_have_text(LOCKED_WAITING_TEXT)
        attempt = "Sam Carter tried to join while the meeting is locked."
        expect(host.locator("#lock-attempt")).to_contain_text(attempt)
        expect(host.locator("#room-announcer")).to_contain_text(attempt)
        row = host.locator("#waiting-list > li", has_text="Sam Carter")
        expect(row).to_contain_text("(parent or carer)")
        expect(row).to_contain_text("Arrived while the meeting was locked")
        expect(host.locator("#waiting-locked-note")).to_be_visible()
        ui.assert_accessible(host, "the host's meeting page, locked, with someone waiting")
        ui.assert_accessible(sam.page, "the waiting room while the meeting is locked")

        # Forbidden while locked: letting one in, or everyone. Sam keeps waiting.
        host.get_by_role("button", name="Let in Sam Carter").click()
        expect(host.locator("#room-error")).to_contain_text("The meeting is locked")
        host.get_by_role("button", name="Let everyone in").click()
        host.wait_for_timeout(1000)
        assert ui.haven(sam.page, "state") == "waiting"
        assert "admitted" not in ui.haven(sam.page, "received")

        lock.click()
        expect(lock).to_have_text("Lock the meeting")
        expect(host.locator("#lock-status")).not_to_contain_text("locked. Nobody")
        expect(host.locator("#waiting-locked-note")).to_be_hidden()
        expect(sam.page.locator("#waiting-message")).to_have_text("The host will let you in.")
        ui.let_in(host, sam)
    assert ui.audit_about(stack, "meeting.locked", meeting.id)
    assert ui.audit_about(stack, "meeting.unlocked", meeting.id)
    assert ui.audit_about(stack, "room.arrived_while_locked", meeting.id)
    assert len(ui.audit_about(stack, "room.admitted", meeting.id)) == 1


def test_S2_S1_host_sees_a_second_device_turns_it_away_with_a_message_and_lets_everyone_in(
    stack,
):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        sam = ui.attendee_waits(browser, stack, meeting, "Sam Carter")
        jo = ui.attendee_waits(browser, stack, meeting, "Jo Smith")
        sams_phone = ui.second_device(browser, stack, meeting, sam)

        expect(host.locator("#waiting-panel-heading")).to_have_text("Waiting room (3)")
        flagged = host.locator("#waiting-list > li", has_text="Using a second device")
        expect(flagged).to_have_count(1)
        expect(flagged).to_contain_text("Sam Carter")
        expect(host.locator("#admit-all")).to_have_text("Let everyone in")
        ui.assert_accessible(host, "the host's meeting page with three people waiting")

        flagged.get_by_role("button", name="Turn away Sam Carter").click()
        message = host.get_by_label("Message to Sam Carter (optional)")
        expect(message).to_be_focused()
        message.fill("x" * 250)
        assert len(message.input_value()) == 200  # at most 200 characters
        ui.assert_accessible(host, "the turn-away form")
        message.fill("Please use one device only.")
        expect(host.locator("#turn-away-send")).to_have_text("Send away")
        host.locator("#turn-away-send").click()

        ui.wait_for_state(sams_phone, "ended")
        expect(sams_phone.get_by_text("The host could not let you in.")).to_be_visible()
        expect(sams_phone.locator("#ended-host-message")).to_contain_text(
            "Please use one device only."
        )
        ui.assert_accessible(sams_phone, "the screen after being turned away")
        expect(host.locator("#waiting-panel-heading")).to_have_text("Waiting room (2)")

        host.locator("#admit-all").click()
        ui.wait_for_state(sam.page, "in_meeting")
        ui.wait_for_state(jo.page, "in_meeting")
        expect(host.locator("#waiting-empty")).to_be_visible()
        expect(host.locator("#admit-all")).to_be_hidden()
        expect(host.locator("#roster-heading")).to_have_text("People in the meeting (3)")
    assert len(ui.audit_about(stack, "room.turned_away", meeting.id)) == 1
    assert len(ui.audit_about(stack, "room.admitted", meeting.id)) == 2


def test_U5_the_host_sees_who_supervises_a_child_and_the_child_does_not(stack):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        mia = ui.attendee_waits(browser, stack, meeting, "Mia Carter", role="child")
        sam = ui.attendee_waits(browser, stack, meeting, "Sam Carter")
        # Before letting her in, the host's waiting room says who should be with her.
        waiting = host.locator("#waiting-list > li", has_text="Mia Carter")
        expect(waiting.locator(".person-supervisor")).to_have_text(
            "Supervised by Parent of Mia Carter"
        )
        expect(host.locator("#waiting-list .person-supervisor")).to_have_count(1)
        ui.assert_accessible(host, "the host's waiting room with a supervised child")
        ui.let_in(host, mia)
        ui.let_in(host, sam)
        expect(host.locator("#roster-heading")).to_have_text("People in the meeting (3)")
        mias_row = host.locator("#roster-list > li", has_text="Mia Carter")
        expect(mias_row.locator(".person-supervisor")).to_have_text(
            "Supervised by Parent of Mia Carter"
        )
        expect(host.locator("#roster-list .person-supervisor")).to_have_count(1)
        ui.assert_accessible(host, "the host's roster with a supervised child")
        for page in (mia.page, sam.page):
            expect(page.locator("#roster-heading")).to_have_text("People in the meeting (3)")
            expect(page.locator("#roster-list")).not_to_contain_text("Supervised by")
            expect(page.locator("#roster-list")).not_to_contain_text("Parent of Mia Carter")


def test_V3_U1_attendee_sees_the_hosts_requests_and_acts_on_them_only_by_choice(stack):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        sam = ui.attendee_waits(browser, stack, meeting, camera=True, viewport=ui.PHONE)
        ui.let_in(host, sam)
        page = sam.page
        page.wait_for_function("() => window.haven.mic.enabled === true")

        # Rule U1: the host is shown with job title and a Staff mark linking to the staff
        # page; nobody else is.
        staff_page = page.locator("#room").get_attribute("data-staff-page-url")
        assert staff_page
        host_row = page.locator("#roster-list > li", has_text="Alex Morgan")
        expect(host_row).to_contain_text("Alex Morgan, IASS Officer")
        staff = host_row.get_by_role("link", name=re.compile(r"^Staff"))
        expect(staff).to_have_attribute("href", staff_page)
        expect(page.locator("#roster-list > li", has_text="Sam Carter")).not_to_contain_text(
            "Staff"
        )
        expect(page.locator("#roster-list .badge-staff")).to_have_count(1)

        host.get_by_role("button", name="Ask Sam Carter to mute").click()
        notice = page.locator("#host-request")
        expect(notice).to_have_text("The host asks you to mute your microphone.")
        assert notice.get_attribute("role") == "alert"
        expect(page.locator("#host-request-act")).to_have_text("Mute my microphone")
        expect(page.locator("#host-request-dismiss")).to_have_text("Not now")
        # A request only: nothing changes until Sam acts.
        assert ui.haven(page, "mic") == {"enabled": True, "hostMuted": False}
        ui.assert_accessible(page, "the attendee's page at 320 px with a request from the host")
        ui.assert_fits(page, "the attendee's page with a request")
        page.locator("#host-request-act").click()
        page.wait_for_function("() => window.haven.mic.enabled === false")
        assert ui.haven(page, "mic.hostMuted") is False
        expect(page.locator("#mic-button")).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#mic-button")).to_be_focused()
        expect(notice).to_be_empty()
        page.locator("#mic-button").click()  # their own choice, no server needed
        page.wait_for_function("() => window.haven.mic.enabled === true")

        # "Not now" leaves the camera as it is; acting turns it off.
        host.get_by_role("button", name="Ask Sam Carter to turn their camera off").click()
        expect(notice).to_have_text("The host asks you to turn your camera off.")
        page.locator("#host-request-dismiss").click()
        expect(notice).to_be_empty()
        expect(page.locator("#camera-button")).to_have_attribute("aria-pressed", "true")
        host.locator("#ask-all-camera-off").click()
        expect(page.locator("#host-request-act")).to_have_text("Turn my camera off")
        page.locator("#host-request-act").press("Enter")
        expect(page.locator("#camera-button")).to_have_attribute("aria-pressed", "false")
        expect(page.locator("#camera-button")).to_be_focused()

        host.locator("#ask-all-mute").click()
        expect(notice).to_have_text("The host asks you to mute your microphone.")
        page.locator("#host-request-dismiss").press("Space")
        expect(notice).to_be_empty()
        assert ui.haven(page, "mic.enabled") is True

        # Rule V3: the host's page has no way to unmute anyone or turn their camera on.
        roster = host.locator("#roster-list")
        expect(roster.get_by_role("button", name=re.compile("unmute", re.I))).to_have_count(0)
        expect(roster.get_by_role("button", name=re.compile("camera on", re.I))).to_have_count(0)
    assert len(ui.audit_about(stack, "room.asked", meeting.id)) == 4


# Records, in the attendee's page, whether the microphone went live before `unmuted`.
WATCH_UNMUTE = """() => {
  window.unmuteOrder = null;
  const timer = setInterval(() => {
    if (!window.haven.mic.enabled) return;
    const answered = window.haven.received.includes('unmuted');
    window.unmuteOrder = answered ? 'after unmuted' : 'before unmuted';
    clearInterval(timer);
  }, 2);
}"""


def test_V3_host_mutes_on_the_media_server_and_only_the_attendee_unmutes(stack):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        sam = ui.attendee_waits(browser, stack, meeting)
        ui.let_in(host, sam)
        page = sam.page
        page.wait_for_function("() => window.haven.mic.enabled === true")
        before = ui.wait_for_inbound(host, kind="audio")
        assert before > 0, "the host never heard Sam"

        host.get_by_role("button", name="Mute Sam Carter").click()
        page.wait_for_function("() => window.haven.mic.hostMuted === true")
        assert ui.haven(page, "mic") == {"enabled": False, "hostMuted": True}
        expect(page.locator("#mic-button")).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#host-request")).to_have_text(
            "The host muted your microphone. You can unmute yourself when you want to speak."
        )
        # The mute is on the media server: Sam's sound stops reaching the host.
        host.wait_for_timeout(1000)
        muted_at = ui.inbound(host)["audio"]["packets"]
        host.wait_for_timeout(2000)
        assert ui.inbound(host)["audio"]["packets"] - muted_at <= 2

        page.evaluate(WATCH_UNMUTE)
        page.locator("#mic-button").click()
        # The watcher's own timer sees the microphone go live (it may run a little after).
        page.wait_for_function("() => window.unmuteOrder !== null")
        assert page.evaluate("() => window.unmuteOrder") == "after unmuted"
        assert ui.haven(page, "mic.enabled") is True
        assert ui.haven(page, "mic.hostMuted") is False
        expect(page.locator("#host-request")).to_be_empty()
        expect(page.locator("#mic-button")).to_have_attribute("aria-pressed", "false")
        assert ui.wait_for_inbound(host, kind="audio", more_than=muted_at + 10) > muted_at + 10

        host.locator("#mute-all").click()
        page.wait_for_function("() => window.haven.mic.hostMuted === true")
        assert ui.haven(page, "mic.enabled") is False
    assert len(ui.audit_about(stack, "room.muted", meeting.id)) == 2
    assert len(ui.audit_about(stack, "room.unmuted_self", meeting.id)) == 1


def test_S8_host_removes_by_keyboard_with_a_required_reason_and_bans_another(stack):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        sam = ui.attendee_waits(browser, stack, meeting, "Sam Carter")
        ui.let_in(host, sam)
        jo = ui.attendee_waits(browser, stack, meeting, "Jo Smith")
        ui.let_in(host, jo)
        expect(host.locator("#roster-heading")).to_have_text("People in the meeting (3)")
        sam_id = host.locator("#roster-list > li", has_text="Sam Carter").get_attribute(
            "data-participant"
        )

        # Keyboard only: Tab to "Remove Sam Carter", Enter opens the form.
        host.locator("#meeting-heading").focus()
        remove_sam = f'button[data-action="remove"][data-participant="{sam_id}"]'
        ui.tab_to(host, remove_sam)
        expect(host.locator(remove_sam)).to_have_accessible_name("Remove Sam Carter")
        host.keyboard.press("Enter")
        reason = host.get_by_label("Reason (recorded, not shown to Sam Carter)")
        expect(reason).to_be_focused()
        expect(host.locator("#remove-confirm")).to_have_text("Remove Sam Carter")
        expect(host.locator("#ban-review-on")).to_be_hidden()  # a removal has no review
        ui.assert_accessible(host, "the remove form")

        # No reason: a clear error beside the field, and nobody is removed.
        ui.tab_to(host, "#remove-confirm")
        host.keyboard.press("Space")
        expect(host.locator("#remove-reason-error")).to_be_visible()
        expect(host.locator("#remove-reason-error")).to_contain_text("Write a reason")
        expect(reason).to_have_attribute("aria-invalid", "true")
        expect(reason).to_be_focused()
        ui.assert_accessible(host, "the remove form with its error")

        # Escape goes back to the button; then remove with a reason.
        host.keyboard.press("Escape")
        expect(host.locator("#remove-form")).to_be_hidden()
        expect(host.locator(remove_sam)).to_be_focused()
        assert ui.haven(sam.page, "state") == "in_meeting"
        host.keyboard.press("Enter")
        expect(reason).to_be_focused()
        host.keyboard.type("Shared the link on social media.")
        ui.tab_to(host, "#remove-confirm")
        host.keyboard.press("Enter")

        ui.wait_for_state(sam.page, "ended")
        expect(sam.page.get_by_text("The host removed you from the meeting.")).to_be_visible()
        ui.assert_accessible(sam.page, "the removed screen")
        expect(host.locator("#roster-list")).not_to_contain_text("Sam Carter")
        # Removed means out of this meeting, by any way back in.
        assert sam.page.reload().status == 404  # type: ignore[union-attr]

        host.get_by_role("button", name="Ban Jo Smith").click()
        expect(host.locator("#remove-confirm")).to_have_text("Ban Jo Smith")
        host.get_by_label("Reason (recorded, not shown to Jo Smith)").fill("Abusive to others.")
        # The review date (S8): the policy's default, which the host changes.
        review = host.get_by_label("Review the ban by")
        default = dt.date.today() + dt.timedelta(days=183)
        expect(review).to_have_value(default.isoformat())
        chosen = (dt.date.today() + dt.timedelta(days=90)).isoformat()
        review.fill(chosen)
        ui.assert_accessible(host, "the ban form")
        host.locator("#remove-confirm").click()
        ui.wait_for_state(jo.page, "ended")
        expect(jo.page.get_by_text("The host removed you from the meeting.")).to_be_visible()
        expect(host.locator("#roster-heading")).to_have_text("People in the meeting (1)")
    removed = ui.audit_about(stack, "room.removed", meeting.id)
    banned = ui.audit_about(stack, "room.banned", meeting.id)
    assert len(removed) == 1 and len(banned) == 1
    # The reasons are audit notes outside the chain (D4, D5), referred to by it.
    reasons = [json.loads(row["details"])["reason"] for row in (*removed, *banned)]
    assert [database.note_text(stack, r) for r in reasons] == [
        "Shared the link on social media.",
        "Abusive to others.",
    ]
    [ban] = database.query(
        stack,
        "SELECT review_on FROM bans_ban WHERE meeting_id ="
        " (SELECT id FROM meetings_meeting WHERE public_id = ?)",
        meeting.id.replace("-", ""),
    )
    assert str(ban["review_on"]) == chosen


SCREEN_TILE = "#video-grid > li.tile-screen"


def screen_feed(page: Page) -> int:
    expect(page.locator(SCREEN_TILE)).to_have_count(1, timeout=20_000)
    return int(page.locator(SCREEN_TILE).get_attribute("data-feed") or 0)


def wait_for_screen_frames(page: Page, feed: int) -> int:
    for _ in range(200):
        frames = ui.feed_frames(page, feed)
        if frames > 0:
            return frames
        page.wait_for_timeout(100)
    raise AssertionError("no frames of the shared screen were decoded")


def test_V2_host_shares_a_screen_attendees_see_it_large_and_have_no_control_for_it(stack):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        sam = ui.attendee_waits(browser, stack, meeting)
        ui.let_in(host, sam)
        page = sam.page

        # Attendees have no control for it at all.
        expect(page.locator("#share-screen")).to_have_count(0)
        expect(page.get_by_role("button", name=re.compile("share", re.I))).to_have_count(0)

        share = host.locator("#share-screen")
        expect(share).to_have_text("Share my screen")
        assert ui.haven(host, "peerConnections.screen") is None
        share.click()  # the real getDisplayMedia (Chromium's fake screen)
        expect(share).to_have_text("Stop sharing")
        expect(host.locator("#share-status")).to_be_visible()
        host.wait_for_function(
            "() => window.haven.peerConnections.screen?.connectionState === 'connected'"
        )
        feed = screen_feed(page)
        expect(page.locator(SCREEN_TILE)).to_contain_text("Alex Morgan's screen")
        wait_for_screen_frames(page, feed)
        box = page.locator(SCREEN_TILE).bounding_box()
        camera_tile = page.locator("#own-tile").bounding_box()
        assert box and camera_tile and box["width"] > camera_tile["width"]
        ui.assert_accessible(page, "the attendee's page with the host's screen")

        share.click()
        expect(share).to_have_text("Share my screen")
        assert ui.haven(host, "peerConnections.screen") is None
        expect(page.locator(SCREEN_TILE)).to_have_count(0)

        # The browser's own "Stop sharing" ends the track: the same as the button.
        share.click()
        screen_feed(page)
        host.evaluate(
            "() => window.haven.peerConnections.screen.getSenders()[0].track"
            ".dispatchEvent(new Event('ended'))"
        )
        expect(share).to_have_text("Share my screen")
        expect(page.locator(SCREEN_TILE)).to_have_count(0)

        # The media server restarts while sharing: the screen goes, the host can share again.
        share.click()
        screen_feed(page)
        stack.restart_janus()
        host.wait_for_function(
            "() => window.haven.received.includes('media_restarted')", timeout=20_000
        )
        expect(share).to_have_text("Share my screen")
        assert ui.haven(host, "peerConnections.screen") is None
        host.wait_for_function(
            "() => window.haven.peerConnections.publisher?.connectionState === 'connected'",
            timeout=20_000,
        )
        share.click()
        wait_for_screen_frames(page, screen_feed(page))
    assert len(ui.audit_about(stack, "room.screen_shared", meeting.id)) == 4


def test_host_page_works_by_keyboard_and_at_phone_width(stack):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting, viewport=ui.PHONE)
        sam = ui.attendee_waits(browser, stack, meeting, "Sam Carter")
        ui.let_in(host, sam)
        ui.attendee_waits(browser, stack, meeting, "Jo Smith")
        expect(host.locator("#waiting-panel-heading")).to_have_text("Waiting room (1)")
        ui.assert_fits(host, "the host's meeting page at 320 px")
        ui.assert_accessible(host, "the host's meeting page at 320 px with someone waiting")

        wanted, reached = ui.reachable_by_tab(host)
        missing = [control for control in wanted if control not in reached]
        assert missing == [], f"not reachable by Tab: {missing}"
        for control in ("lock-button", "ask-all-mute", "mute-all", "admit-all", "share-screen"):
            assert control in reached
        assert any(name.startswith("action=ban:") for name in reached)
        assert any(name.startswith("turnAway=") for name in reached)


HOST_MODULES = {
    "host.js",
    "host-controls.js",
    "remove-form.js",
    "screen-share.js",
    "waiting-list.js",
}


def test_attendees_never_download_the_hosts_controls(stack):
    """The host's modules load on the host's page only (page weight, bench/ issue 8)."""
    meeting = ui.new_meeting(stack)
    loaded: dict[str, set[str]] = {"host": set(), "attendee": set()}

    def count(who: str):
        return lambda response: loaded[who].add(response.url.rsplit("/", 1)[-1])

    with chromium(stack) as browser:
        host = ui.page_with_session(browser, stack, meeting.host)
        host.on("response", count("host"))
        host.goto(meeting.url(stack))
        ui.join(host)
        ui.wait_for_state(host, "in_meeting")
        attendee = ui.attendee_waits(browser, stack, meeting, "Ava Attendee")
        attendee.page.on("response", count("attendee"))
        attendee.page.reload()  # back to their place in the waiting room (issue 21 item 9)
        ui.wait_for_state(attendee.page, "waiting")
        ui.let_in(host, attendee)
        expect(attendee.page.locator("#roster-list")).to_contain_text("Alex Morgan")
    assert loaded["host"] >= HOST_MODULES
    assert "room.js" in loaded["attendee"] and "media.js" in loaded["attendee"]
    assert not HOST_MODULES & loaded["attendee"], loaded["attendee"]
