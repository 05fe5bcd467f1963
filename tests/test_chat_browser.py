"""The group chat on the meeting page, and the transcript choice at the end (S2, S4, S5, S6).

Real Chromium contexts (one per person), a real Haven and a real Janus, in the test run's
own network namespace. Each test writes and reads as a person would (the form, the
keyboard, the host's buttons) and checks what the others see, window.haven.chat, the
audit log and the transcript page.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.harness import ui
from tests.harness.browser import axe_violations, chromium

pytestmark = pytest.mark.browser

EVERYONE_SEES = "Everyone in the meeting sees what you write. There is no private chat."
NO_DOCUMENTS = "Do not send documents here: the host can email them to you."
LINK_WARNING = (
    "This message contains a link. It is not clickable: only copy it if you trust who sent it."
)
TOO_FAST = "You are sending messages too fast. Wait a moment."
CLOCK = re.compile(r"^\d\d:\d\d$")


def test_S5_S2_host_and_attendee_see_each_others_messages_and_the_waiting_room_gets_none(stack):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        expect(host.locator("#chat-empty")).to_be_visible()
        ui.send_chat(host, "Before anyone arrives")
        expect(host.locator("#chat-empty")).to_be_hidden()
        expect(host.locator("#chat-list")).to_have_accessible_name("Chat messages")

        # S2: nothing of the chat reaches the waiting room, and it has no chat panel.
        sam = ui.attendee_waits(browser, stack, meeting, "Sam Carter")
        ui.send_chat(host, "Said while Sam waits")
        sam.page.wait_for_timeout(1000)
        assert "chat" not in ui.haven(sam.page, "received")
        assert ui.haven(sam.page, "chat") == []
        expect(sam.page.locator("#chat-panel")).to_be_hidden()
        expect(sam.page.locator("#chat-text")).to_be_hidden()

        # Let in: Sam sees the chat from now on, not what was said before (the history
        # an attendee gets starts when they are first let in).
        ui.let_in(host, sam)
        page = sam.page
        expect(page.locator("#chat-panel")).to_be_visible()
        expect(page.locator("#chat-empty")).to_be_visible()
        assert ui.haven(page, "chat") == []

        # S5: said plainly beside the form, and the form has nowhere to name a recipient.
        expect(page.locator("#chat-rules")).to_contain_text(EVERYONE_SEES)
        expect(page.locator("#chat-rules")).to_contain_text(NO_DOCUMENTS)
        expect(page.get_by_label("Message to everyone")).to_have_attribute("maxlength", "1000")
        expect(page.locator("#chat-send")).to_have_text("Send to everyone")
        expect(page.locator("#chat-form input, #chat-form select")).to_have_count(0)
        expect(page.locator("#chat-form textarea")).to_have_count(1)

        ui.send_chat(host, "Welcome, Sam.")
        ui.wait_for_chat(page, "Welcome, Sam.")
        from_host = ui.chat_row(page, "Welcome, Sam.")
        expect(from_host.locator(".chat-meta")).to_contain_text("Alex Morgan (host)")
        expect(from_host.locator("time")).to_have_text(CLOCK)
        expect(page.locator("#room-announcer")).to_contain_text(
            "Alex Morgan (host) wrote: Welcome, Sam."
        )

        ui.send_chat(page, "Thank you, that helps.")
        ui.wait_for_chat(host, "Thank you, that helps.")
        mine = ui.chat_row(page, "Thank you, that helps.")
        expect(mine.locator(".chat-meta")).to_contain_text("Sam Carter (you)")
        expect(mine.locator(".chat-meta")).not_to_contain_text("(host)")
        expect(ui.chat_row(host, "Thank you, that helps.").locator(".chat-meta")).to_have_text(
            re.compile(r"^Sam Carter \d\d:\d\d$")
        )
        expect(host.locator("#room-announcer")).to_contain_text(
            "Sam Carter wrote: Thank you, that helps."
        )

        # Both see both, in the same order; the host also sees what was said earlier.
        assert ui.chat_texts(page) == ["Welcome, Sam.", "Thank you, that helps."]
        assert ui.chat_texts(host) == [
            "Before anyone arrives",
            "Said while Sam waits",
            "Welcome, Sam.",
            "Thank you, that helps.",
        ]
        shown = ui.haven(page, "chat")
        assert shown == ui.haven(host, "chat")[2:]
        assert [m["author"] for m in shown] == ["Alex Morgan", "Sam Carter"]
        assert all(set(m) == {"id", "author", "text", "has_link"} for m in shown)
        # Still nothing of the chat in the list of message types Sam got before admission.
        received = ui.haven(page, "received")
        assert "chat" not in received[: received.index("admitted")]


def test_S5_keyboard_enter_sends_and_shift_enter_starts_a_new_line(stack):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        sam = ui.attendee_waits(browser, stack, meeting)
        ui.let_in(host, sam)
        page = sam.page

        page.locator("#meeting-heading").focus()
        ui.tab_to(page, "#chat-text")
        expect(page.locator("#chat-text")).to_have_accessible_name("Message to everyone")
        page.keyboard.type("First line")
        page.keyboard.press("Shift+Enter")
        page.keyboard.type("second line")
        expect(page.locator("#chat-text")).to_have_value("First line\nsecond line")
        assert ui.haven(page, "chat") == []  # Shift+Enter did not send
        page.keyboard.press("Enter")
        ui.wait_for_chat(host, "First line\nsecond line")
        expect(page.locator("#chat-text")).to_have_value("")
        expect(page.locator("#chat-text")).to_be_focused()
        # The line break is kept on screen.
        text = ui.chat_row(host, "second line").locator(".chat-text")
        assert text.evaluate("(el) => el.innerText") == "First line\nsecond line"

        # Enter on an empty box sends nothing and says why.
        page.keyboard.press("Enter")
        expect(page.locator("#chat-error")).to_have_text("Write a message before you send it.")
        expect(page.locator("#chat-text")).to_have_attribute("aria-invalid", "true")
        page.keyboard.type("Sorry")
        expect(page.locator("#chat-error")).to_be_empty()

        # The Send button works by keyboard too.
        ui.tab_to(page, "#chat-send")
        page.keyboard.press("Enter")
        ui.wait_for_chat(host, "Sorry")
        # Sam's own list shows it when the server's broadcast reaches Sam, which can be
        # after it reached the host: wait for it there too, then check the whole list.
        expect(ui.chat_row(page, "Sorry")).to_have_count(1, timeout=10_000)
        assert ui.chat_texts(page) == ["First line\nsecond line", "Sorry"]


AT_BOTTOM = """() => { const list = document.querySelector('#chat-list');
  return list.scrollHeight - list.scrollTop - list.clientHeight < 2; }"""


def test_chat_follows_the_newest_message_unless_the_person_scrolled_up(stack):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        sam = ui.attendee_waits(browser, stack, meeting, viewport=ui.PHONE)
        ui.let_in(host, sam)
        page = sam.page
        detail = " ".join(["Some detail about the plan."] * 12)
        for n in range(4):
            ui.send_chat(host, f"Part {n} of the plan. {detail}")
        ui.wait_for_chat(page, f"Part 3 of the plan. {detail}")
        chat = page.locator("#chat-list")
        assert chat.evaluate("(el) => el.scrollHeight > el.clientHeight"), "the list never scrolls"
        page.wait_for_function(AT_BOTTOM)
        expect(page.locator("#chat-newest")).to_be_hidden()

        # Sam scrolls up to read: a new message does not pull the list away from them.
        chat.evaluate("(el) => { el.scrollTop = 0; }")
        ui.send_chat(host, "Anything else?")
        ui.wait_for_chat(page, "Anything else?")
        assert chat.evaluate("(el) => el.scrollTop") == 0
        newest = page.locator("#chat-newest")
        expect(newest).to_have_text("Go to the newest message")
        ui.assert_accessible(page, "the chat with the newest-message button")
        newest.click()
        page.wait_for_function(AT_BOTTOM)
        expect(newest).to_be_hidden()
        expect(chat).to_be_focused()

        # What Sam sends themself always brings the newest into view.
        chat.evaluate("(el) => { el.scrollTop = 0; }")
        ui.send_chat(page, "No, thank you")
        page.wait_for_function(AT_BOTTOM)


def test_S4_a_link_is_plain_text_with_a_warning_and_html_stays_text_axe_clean_at_320px(stack):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting, viewport=ui.PHONE)
        sam = ui.attendee_waits(browser, stack, meeting, viewport=ui.PHONE)
        ui.let_in(host, sam)
        page = sam.page

        link = "Fill in the form at https://example.org/form?id=1 please"
        markup = '<b>bold</b> <img src="x" alt="x"> <a href="/x">here</a> & that'
        ui.send_chat(page, link)
        ui.send_chat(page, markup)
        ui.send_chat(host, "A long word: " + "abcdefghij" * 12)
        for viewer in (page, host):
            ui.wait_for_chat(viewer, "A long word: " + "abcdefghij" * 12)
            chat = viewer.locator("#chat-list")
            # S4: nothing in the list can be followed, and HTML is shown as written.
            expect(chat.locator("a, img, b")).to_have_count(0)
            expect(ui.chat_row(viewer, "example.org").locator(".chat-text")).to_have_text(link)
            expect(ui.chat_row(viewer, "bold").locator(".chat-text")).to_have_text(markup)
            expect(ui.chat_row(viewer, "example.org").locator(".chat-link-warning")).to_have_text(
                LINK_WARNING
            )
            expect(chat.locator(".chat-link-warning")).to_have_count(1)
            flags = {m["text"]: m["has_link"] for m in ui.haven(viewer, "chat")}
            assert flags[link] is True and flags[markup] is False

        # Every scheme is a link (issue 20, item 3); invisible characters are taken out,
        # and the sender is told which.
        ui.send_chat(page, "Try javascript:window.x=1 now")
        ui.wait_for_chat(host, "Try javascript:window.x=1 now")
        expect(ui.chat_row(host, "javascript:").locator(".chat-link-warning")).to_have_text(
            LINK_WARNING
        )
        page.locator("#chat-text").fill("Turn \u202eleft here")
        page.locator("#chat-send").click()
        expect(page.locator("#chat-text")).to_have_value("")
        expect(page.locator("#chat-removed")).to_have_text(
            "Sent. Haven took out characters that cannot be seen: U+202E RIGHT-TO-LEFT OVERRIDE."
        )
        ui.wait_for_chat(host, "Turn left here")

        ui.assert_fits(page, "the attendee's chat at 320 px")
        ui.assert_fits(host, "the host's chat at 320 px")
        ui.assert_accessible(page, "the attendee's page at 320 px with chat messages")
        ui.assert_accessible(host, "the host's page at 320 px with chat messages")


def test_S4_host_removes_a_message_after_confirming_and_it_goes_for_everyone(stack):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        sam = ui.attendee_waits(browser, stack, meeting, "Sam Carter")
        ui.let_in(host, sam)
        jo = ui.attendee_waits(browser, stack, meeting, "Jo Smith")
        ui.let_in(host, jo)
        ui.send_chat(sam.page, "Something I should not have said")
        ui.send_chat(sam.page, "A second message")
        ui.wait_for_chat(jo.page, "A second message")
        ui.wait_for_chat(host, "A second message")
        first = ui.haven(host, "chat")[0]["id"]

        # Only the host has remove buttons.
        for attendee in (sam, jo):
            expect(attendee.page.locator("button[data-remove-chat]")).to_have_count(0)
        button = host.locator(f'button[data-remove-chat="{first}"]')
        expect(button).to_have_accessible_name("Remove message from Sam Carter")
        expect(button).to_have_accessible_description("Something I should not have said")

        # Keyboard: Enter opens the in-page confirmation; Escape goes back; nothing removed.
        host.locator("#chat-heading").focus()
        ui.tab_to(host, f'button[data-remove-chat="{first}"]')
        host.keyboard.press("Enter")
        confirm = host.locator("#chat-remove-confirm")
        expect(confirm).to_be_visible()
        expect(host.locator("#chat-remove-heading")).to_be_focused()
        expect(confirm).to_contain_text("Something I should not have said")
        expect(confirm).to_contain_text("Sam Carter")
        expect(button).to_have_attribute("aria-expanded", "true")
        ui.assert_accessible(host, "the confirmation to remove a chat message")
        host.keyboard.press("Escape")
        expect(confirm).to_be_hidden()
        expect(button).to_be_focused()
        host.wait_for_timeout(500)
        assert len(ui.haven(sam.page, "chat")) == 2

        host.keyboard.press("Enter")
        ui.tab_to(host, "#chat-remove-yes")
        host.keyboard.press("Enter")
        for page in (sam.page, jo.page, host):
            page.wait_for_function("() => window.haven.chat.length === 1")
            assert ui.chat_texts(page) == ["A second message"]
            expect(page.locator("#chat-list")).not_to_contain_text("should not have said")
        for attendee in (sam, jo):
            expect(attendee.page.locator("#room-announcer")).to_contain_text(
                "A message was removed by the host"
            )
        expect(confirm).to_be_hidden()
        expect(host.locator("#chat-heading")).to_be_focused()
    removed = ui.audit_about(stack, "chat.removed", meeting.id)
    assert len(removed) == 1 and first in removed[0]["details"]
    # The text itself is not written to the audit log.
    assert "should not have said" not in removed[0]["details"]


def test_chat_history_comes_back_when_the_page_is_reloaded(stack):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        sam = ui.attendee_waits(browser, stack, meeting)
        ui.let_in(host, sam)
        ui.send_chat(host, "Hello Sam, see www.example.org/guide")
        ui.send_chat(sam.page, "Hello, thanks")
        ui.wait_for_chat(host, "Hello, thanks")
        before = ui.haven(host, "chat")
        assert len(before) == 2 and before[0]["has_link"] is True

        # A reload takes Sam back into the meeting, his place kept (issue 21 item 9),
        # with the chat since he was let in and nobody letting him in again.
        sam.page.reload()
        ui.wait_for_state(sam.page, "in_meeting")
        sam.page.wait_for_function("() => window.haven.chat.length === 2")
        assert ui.haven(sam.page, "chat") == before
        expect(
            ui.chat_row(sam.page, "www.example.org").locator(".chat-link-warning")
        ).to_be_visible()

        host.reload()
        ui.wait_for_state(host, "in_meeting")
        host.wait_for_function("() => window.haven.chat.length === 2")
        assert ui.haven(host, "chat") == before
        expect(host.locator("#room-announcer")).to_contain_text("There are 2 messages in the chat.")


def test_chat_says_to_wait_when_messages_come_too_fast_and_keeps_the_words(stack):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        sam = ui.attendee_waits(browser, stack, meeting)
        ui.let_in(host, sam)
        page = sam.page
        field = page.locator("#chat-text")
        error = page.locator("#chat-error")
        refused = None
        for n in range(12):
            text = f"Quick message {n}"
            field.fill(text)
            field.press("Enter")
            page.wait_for_function(
                "() => document.querySelector('#chat-text').value === ''"
                " || document.querySelector('#chat-error').textContent !== ''"
            )
            if error.text_content():
                refused = text
                break
        assert refused is not None, "twelve quick messages were never refused"
        expect(error).to_have_text(TOO_FAST)
        assert error.get_attribute("role") == "alert"
        expect(field).to_have_value(refused)  # the words are kept for another try
        assert refused not in ui.chat_texts(host)

        page.wait_for_timeout(2500)  # the limit lets one more through every 2 seconds
        field.press("Enter")
        ui.wait_for_chat(host, refused)
        expect(field).to_have_value("")
        expect(error).to_be_empty()

        # A message the server refuses as it stands (nothing left once control characters
        # are taken out): the server's own words, and the text stays.
        page.wait_for_timeout(2500)
        field.fill("\u0007")
        field.press("Enter")
        expect(error).to_have_text("The message is empty.")
        expect(field).to_have_value("\u0007")
        expect(field).to_have_attribute("aria-invalid", "true")


def end_meeting(host: Page, attendee: ui.Attendee, *, destroy: bool) -> None:
    """The host's "End meeting for everyone", with the transcript choice (S6)."""
    host.locator("#end-meeting").click()
    keep = host.get_by_label("Keep the chat transcript (encrypted, for the retention period)")
    gone = host.get_by_label("Destroy the chat transcript now")
    expect(keep).to_be_checked()  # the default
    expect(gone).not_to_be_checked()
    ui.assert_accessible(host, "the end-meeting confirmation with the transcript choice")
    if destroy:
        gone.check()
    host.locator("#end-confirm-yes").click()
    ui.wait_for_state(attendee.page, "ended")
    ui.wait_for_state(host, "ended")


def transcript_page(host: Page, stack, meeting: ui.Meeting) -> Page:
    host.goto(f"{stack.base_url}/records/{meeting.id}/transcript/")
    expect(host.get_by_role("heading", name="Chat transcript")).to_be_visible()
    return host


def test_S6_host_ends_the_meeting_and_destroys_the_transcript(stack):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        sam = ui.attendee_waits(browser, stack, meeting)
        ui.let_in(host, sam)
        ui.send_chat(sam.page, "purple elephant 4417")
        ui.wait_for_chat(host, "purple elephant 4417")
        end_meeting(host, sam, destroy=True)
        expect(host.locator("#transcript-destroyed")).to_be_visible()
        expect(host.locator("#transcript-kept")).to_be_hidden()
        expect(sam.page.locator("#transcript-destroyed")).to_have_count(0)  # the host's only

        page = transcript_page(host, stack, meeting)
        expect(page.get_by_text("This transcript was destroyed.")).to_be_visible()
        expect(page.locator("main")).not_to_contain_text("purple elephant")
    destroyed = ui.audit_about(stack, "transcript.destroyed", meeting.id)
    assert len(destroyed) == 1 and "host_chose" in destroyed[0]["details"]
    assert ui.audit_about(stack, "transcript.kept", meeting.id) == []


def test_S6_host_ends_the_meeting_and_the_transcript_is_kept_by_default(stack):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        sam = ui.attendee_waits(browser, stack, meeting)
        ui.let_in(host, sam)
        ui.send_chat(host, "Welcome to the review")
        ui.send_chat(sam.page, "Thanks, the plan is at www.example.org/plan")
        ui.send_chat(sam.page, "Removed before the end")
        ui.wait_for_chat(host, "Removed before the end")
        removed = ui.haven(host, "chat")[2]["id"]
        host.locator(f'button[data-remove-chat="{removed}"]').click()
        host.locator("#chat-remove-yes").click()
        host.wait_for_function("() => window.haven.chat.length === 2")

        end_meeting(host, sam, destroy=False)
        kept = host.locator("#transcript-kept")
        expect(kept).to_be_visible()
        expect(host.locator("#transcript-destroyed")).to_be_hidden()
        assert axe_violations(host) == [], "axe-core violations on the host's ended screen"
        kept.get_by_role("link", name="Read the chat transcript").click()
        expect(host.get_by_role("heading", name="Chat transcript")).to_be_visible()
        transcript = host.locator("ol.transcript")
        expect(transcript.locator("li")).to_have_count(2)
        expect(transcript.locator("li").nth(0)).to_contain_text(
            "Alex Morgan (host): Welcome to the review"
        )
        expect(transcript.locator("li").nth(1)).to_contain_text(
            "Sam Carter: Thanks, the plan is at www.example.org/plan"
        )
        expect(transcript).not_to_contain_text("Removed before the end")
        destroy = host.get_by_role("button", name="Destroy this transcript now")
        expect(destroy).to_have_css("background-color", "rgb(164, 25, 15)")  # --danger
        ui.assert_accessible(host, "the transcript page")
    assert len(ui.audit_about(stack, "transcript.kept", meeting.id)) == 1
    assert len(ui.audit_about(stack, "transcript.read", meeting.id)) == 1
    assert ui.audit_about(stack, "transcript.destroyed", meeting.id) == []
