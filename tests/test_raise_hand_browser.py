"""Raise hand in real Chromium (issue 21 item 4): a host and two attendees, with a real
Haven and Janus. Each raises a hand by keyboard or mouse, everyone sees the hands in the
order raised, the host lowers one, screen readers are told through the polite live
region, and axe-core finds nothing wrong with hands raised (also at 320 px).
"""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.harness import ui
from tests.harness.browser import chromium

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def hand_names(page: Page) -> list[str]:
    return page.locator("#hands-list > li .person-name").all_inner_texts()


def expect_hands(page: Page, names: list[str]) -> None:
    """The page's list of raised hands says these names, in this order."""
    expect(page.locator("#hands-list > li .person-name")).to_have_text(names)
    expect(page.locator("#hands-heading")).to_have_text(f"Raised hands ({len(names)})")


def participant_id(page: Page, name: str) -> str:
    row = page.locator("#roster-list > li", has_text=name)
    return row.get_attribute("data-participant") or ""


def test_hands_raised_by_three_people_are_shown_in_order_and_the_host_lowers_one(stack):
    meeting = ui.new_meeting(stack)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        sam = ui.attendee_waits(browser, stack, meeting, "Sam Carter")
        ui.let_in(host, sam)
        jo = ui.attendee_waits(browser, stack, meeting, "Jo Smith", viewport=ui.PHONE)
        ui.let_in(host, jo)
        pages = [host, sam.page, jo.page]
        for page in pages:
            expect(page.locator("#roster-heading")).to_have_text("People in the meeting (3)")
            expect(page.locator("#hand-button")).to_have_text("Raise hand")
            expect(page.locator("#hands-empty")).to_have_text("No hands are raised.")
        jo_id = participant_id(host, "Jo Smith")
        sam_id = participant_id(host, "Sam Carter")

        # Sam, by keyboard only: Tab to the button, Enter.
        sam.page.locator("#meeting-heading").focus()
        ui.tab_to(sam.page, "#hand-button")
        sam.page.keyboard.press("Enter")
        expect(sam.page.locator("#hand-button")).to_have_text("Lower hand")
        expect(sam.page.locator("#hand-button")).to_be_focused()
        expect(sam.page.locator("#room-announcer")).to_contain_text("You raised your hand.")
        for page in (host, jo.page):
            expect(page.locator("#room-announcer")).to_contain_text("Sam Carter raised their hand.")
        # Jo, on a phone, by keyboard too (Space); then the host, with the mouse.
        jo.page.locator("#meeting-heading").focus()
        ui.tab_to(jo.page, "#hand-button")
        jo.page.keyboard.press("Space")
        expect(jo.page.locator("#hand-button")).to_have_text("Lower hand")
        expect(host.locator("#room-announcer")).to_contain_text("Jo Smith raised their hand.")
        host.locator("#hand-button").click()
        expect(host.locator("#hand-button")).to_have_text("Lower hand")
        expect(sam.page.locator("#room-announcer")).to_contain_text(
            "Alex Morgan raised their hand."
        )

        # Everyone sees the three hands in the order raised, and a mark in the roster.
        expect_hands(host, ["Sam Carter", "Jo Smith", "Alex Morgan (you)"])
        expect_hands(sam.page, ["Sam Carter (you)", "Jo Smith", "Alex Morgan"])
        expect_hands(jo.page, ["Sam Carter", "Jo Smith (you)", "Alex Morgan"])
        for page in pages:
            expect(page.locator("#roster-list .hand-mark")).to_have_count(3)
            expect(page.locator("#hands-empty")).to_be_hidden()
        # Only the host has a way to lower someone else's hand, and not for their own.
        lower_buttons = host.locator("#hands-list button")
        expect(lower_buttons).to_have_text(["Lower Sam Carter's hand", "Lower Jo Smith's hand"])
        for page in (sam.page, jo.page):
            expect(page.locator("#hands-list button")).to_have_count(0)
        ui.assert_accessible(host, "the host's page with three hands raised")
        ui.assert_accessible(sam.page, "an attendee's page with three hands raised")
        ui.assert_accessible(jo.page, "an attendee's page at 320 px with three hands raised")
        ui.assert_fits(jo.page, "the attendee's page at 320 px with three hands raised")
        ARTIFACTS.mkdir(exist_ok=True)
        host.locator("#hands-panel").scroll_into_view_if_needed()
        host.screenshot(path=str(ARTIFACTS / "raise-hand-host.png"), full_page=True)
        jo.page.screenshot(path=str(ARTIFACTS / "raise-hand-phone.png"), full_page=True)

        # The host lowers Jo's hand by keyboard: Jo's page and everyone's say so.
        lower_jo = f'button[data-lower-hand="{jo_id}"]'
        host.locator("#hands-heading").focus()
        ui.tab_to(host, lower_jo)
        host.keyboard.press("Enter")
        expect_hands(host, ["Sam Carter", "Alex Morgan (you)"])
        expect(host.locator("#room-announcer")).to_contain_text("You lowered Jo Smith's hand.")
        # The focus stays in the list, on the next thing to act on.
        expect(host.locator(f'button[data-lower-hand="{sam_id}"]')).to_be_focused()
        expect(jo.page.locator("#hand-button")).to_have_text("Raise hand")
        expect(jo.page.locator("#room-announcer")).to_contain_text("The host lowered your hand.")
        expect(sam.page.locator("#room-announcer")).to_contain_text("Jo Smith's hand is down.")
        expect_hands(sam.page, ["Sam Carter (you)", "Alex Morgan"])
        expect_hands(jo.page, ["Sam Carter", "Alex Morgan"])
        expect(jo.page.locator("#roster-list .hand-mark")).to_have_count(2)

        # Sam lowers their own (the same button, its words now "Lower hand").
        sam.page.locator("#hand-button").press("Enter")
        expect(sam.page.locator("#hand-button")).to_have_text("Raise hand")
        expect(sam.page.locator("#room-announcer")).to_contain_text("You lowered your hand.")
        expect(host.locator("#room-announcer")).to_contain_text("Sam Carter's hand is down.")
        expect_hands(host, ["Alex Morgan (you)"])
        expect(host.locator("#hands-list button")).to_have_count(0)
        expect_hands(jo.page, ["Alex Morgan"])
        # The focus had nowhere left in the list: it goes to the list's heading.
        expect(host.locator("#hands-heading")).to_be_focused()

        # Jo raises again and leaves: the hand goes, and the roster says Jo left.
        jo.page.locator("#hand-button").click()
        expect_hands(host, ["Alex Morgan (you)", "Jo Smith"])
        jo.page.locator("#meeting-leave").click()
        ui.wait_for_state(jo.page, "ended")
        expect_hands(host, ["Alex Morgan (you)"])
        expect_hands(sam.page, ["Alex Morgan"])
        expect(sam.page.locator("#room-announcer")).to_contain_text(
            "Jo Smith has left the meeting."
        )
        expect(sam.page.locator("#room-announcer")).not_to_contain_text("Jo Smith's hand is down.")
        ui.assert_accessible(host, "the host's page with one hand raised")
    assert len(ui.audit_about(stack, "room.hand_raised", meeting.id)) == 4
    lowered = ui.audit_about(stack, "room.hand_lowered", meeting.id)
    assert [row["actor_kind"] for row in lowered] == ["staff", "attendee"]
