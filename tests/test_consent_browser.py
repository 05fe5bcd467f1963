"""The consent flow in Chromium: by keyboard alone, at 320 px, with no axe-core violations.

Rules G1, U3 and U5: a parent gives consent for a child and names the supervising adult;
only then does the child's link arrive, and the child enters with their passcode.
"""

import json

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.harness import flows
from tests.harness.browser import axe_violations, chromium

pytestmark = pytest.mark.browser
PHONE: ViewportSize = {"width": 320, "height": 640}
DESK: ViewportSize = {"width": 1280, "height": 800}


def check_page(page: Page, where: str) -> None:
    """No axe-core violations, and nothing wider than the screen (reflow at 320 px)."""
    assert axe_violations(page) == [], f"axe-core violations on {where}"
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{where} is wider than the screen: {width}"


def tab_to(page: Page, selector: str, presses: int = 80) -> None:
    """Press Tab until the element is focused, as a keyboard user would reach it."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        here = f"document.activeElement.matches({json.dumps(selector)})"
        focused = page.evaluate(f"() => !!document.activeElement && {here}")
        if focused:
            return
    raise AssertionError(f"Tab never reached {selector}")


def signed_in_context(browser, stack, client, viewport):
    context = browser.new_context(viewport=viewport)
    cookies = [{"name": n, "value": v, "url": stack.base_url} for n, v in client.cookies.items()]
    context.add_cookies(cookies)
    return context


def test_G1_U3_consent_by_keyboard_alone_at_320px_then_the_child_enters(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host, title="Youth group: planning", kind="youth_group")
    child, parent = flows.unique_email("child"), flows.unique_email("parent")
    response = flows.send_invitation(
        host,
        meeting_id,
        name="Robin Shaw",
        email=child,
        role="child",
        parent_name="Jo Shaw",
        parent_email=parent,
    )
    assert response.status_code == 302
    consent_link = flows.read_consent_link(stack, parent)

    with chromium(stack, fake_devices=False) as browser:
        page = browser.new_context(viewport=PHONE).new_page()
        page.goto(consent_link)
        expect(page.get_by_role("heading", name="Consent for Robin Shaw")).to_be_visible()
        check_page(page, "consent page")

        # Sending without the answers gives clear errors, read with their fields.
        tab_to(page, "button[type=submit]")
        page.keyboard.press("Enter")
        expect(page.get_by_text("Please tick the box to agree")).to_be_visible()
        expect(page.get_by_text("Please give the name of the adult.")).to_be_visible()
        check_page(page, "consent page with errors")
        assert flows.mails_to(stack, child, "") == []

        tab_to(page, "#id_supervising_adult")
        page.keyboard.type("Jo Shaw")
        tab_to(page, "#id_need_captions")
        page.keyboard.press("Space")
        tab_to(page, "#id_show_on_screen")
        page.keyboard.type("Robin's drawing of the new club room")
        tab_to(page, "#id_agree")
        page.keyboard.press("Space")
        tab_to(page, "button[type=submit]")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
        expect(
            page.get_by_text(f"We have emailed Robin Shaw's personal link to {child}")
        ).to_be_visible()
        check_page(page, "consent thank-you page")

        # The link works once: a second visit explains, clearly and accessibly.
        page.goto(consent_link)
        expect(page.get_by_role("heading", name="This link has already been used")).to_be_visible()
        check_page(page, "used consent link")

        # Only now does the child's own link arrive; the child enters with the passcode.
        link, passcode = flows.read_access_emails(stack, child, consent_first=False)
        child_page = browser.new_context(viewport=PHONE).new_page()
        child_page.goto(link)
        check_page(child_page, "passcode page")
        tab_to(child_page, "#id_passcode")
        child_page.keyboard.type(passcode)
        child_page.keyboard.press("Enter")
        expect(child_page.get_by_role("heading", name="Before you join")).to_be_visible()

        # The host sees the consent, the supervising adult and the requests.
        for viewport in (PHONE, DESK):
            host_page = signed_in_context(browser, stack, host, viewport).new_page()
            host_page.goto(f"{stack.base_url}/meetings/{meeting_id}/")
            card = host_page.locator(".invitee", has_text="Robin Shaw")
            expect(card).to_contain_text("Link sent")
            expect(card).to_contain_text("Jo Shaw")
            expect(card).to_contain_text("Captions")
            expect(card).to_contain_text("Robin's drawing of the new club room")
            check_page(host_page, f"meeting page at {viewport['width']} px")


def test_the_hosts_pages_for_invitations_pass_axe_at_320px(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    invited = flows.invite(stack, host, meeting_id)
    invitation_path = f"/meetings/{meeting_id}/invitations/"
    with chromium(stack, fake_devices=False) as browser:
        page = signed_in_context(browser, stack, host, PHONE).new_page()
        page.goto(f"{stack.base_url}/meetings/{meeting_id}/")
        # Invite with mistakes: the errors are announced and accessible.
        page.get_by_label("They are a").select_option(label="Child (under 16)")
        page.get_by_role("button", name="Send invitation").click()
        expect(page.get_by_text("For a child under 16, give a parent or carer.")).to_be_visible()
        check_page(page, "invite form with errors")
        page.get_by_role("link", name=f"Change {invited.name}'s invitation").click()
        expect(
            page.get_by_role("heading", name=f"Change {invited.name}'s invitation")
        ).to_be_visible()
        assert invitation_path in page.url
        check_page(page, "change invitation page")
        for path, heading in (
            ("house-rules/", "House rules for"),
            ("time/", "Change the time of"),
            ("cancel/", "Cancel"),
        ):
            page.goto(f"{stack.base_url}/meetings/{meeting_id}/{path}")
            expect(page.get_by_role("heading", name=heading)).to_be_visible()
            check_page(page, path)
        page.goto(f"{stack.base_url}/meetings/")
        check_page(page, "meetings list")
        # The gate after changed rules is clear and accessible too.
        page.goto(f"{stack.base_url}/meetings/{meeting_id}/house-rules/")
        page.get_by_label("House rules", exact=True).fill("- Be kind.")
        page.get_by_role("button", name="Save the house rules").click()
        expect(page.get_by_text("The house rules are now version 2")).to_be_visible()
        check_page(page, "meeting page after a change of rules")
        visitor = browser.new_context(viewport=PHONE).new_page()
        visitor.goto(invited.link)
        expect(
            visitor.get_by_role("heading", name="Please agree to the house rules first")
        ).to_be_visible()
        check_page(visitor, "link waiting for consent again")
