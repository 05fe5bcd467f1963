"""Staff pages in a real browser: axe-core clean, usable by keyboard, fine at 320 px."""

import base64
import io
import re
import time
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from tests.harness import flows, totp
from tests.harness.browser import axe_violations, chromium

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FITS = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def check(page: Page, where: str) -> None:
    assert axe_violations(page) == [], f"axe-core violations on {where}"
    assert page.evaluate(FITS), f"{where} scrolls sideways at {page.viewport_size}"


def read_qr_code(png: bytes) -> str:
    """What an authenticator app would read from the QR code in this screenshot."""
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    assert len(found) == 1, f"{len(found)} QR codes read"
    return found[0].text


def type_into(page: Page, label: str, text: str) -> None:
    page.get_by_label(label, exact=True).focus()
    page.keyboard.type(text)


def test_staff_pages_are_accessible_and_work_by_keyboard(stack):
    email = flows.unique_email("browser-staff")
    password = stack.create_staff(
        email, roles=("host", "coordinator", "service_manager"), totp=False
    )
    with chromium(stack, fake_devices=False) as browser:
        page = browser.new_context(viewport={"width": 320, "height": 720}).new_page()
        page.goto(f"{stack.base_url}/accounts/login/")
        check(page, "sign-in page")
        type_into(page, "Email address", email)
        type_into(page, "Password", password)
        page.keyboard.press("Enter")

        expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
        qr_image = page.get_by_role("img", name="QR code for adding Haven")
        expect(qr_image).to_be_visible()
        check(page, "authenticator set-up page")
        page.screenshot(path=ARTIFACTS / "enrol-320.png", full_page=True)
        secret = page.locator("#totp-secret").inner_text().replace(" ", "")
        # The QR code is drawn, and an app scanning it gets this account's secret.
        assert qr_image.evaluate("img => img.complete && img.naturalWidth") > 0
        scanned = read_qr_code(qr_image.screenshot())
        assert scanned.startswith("otpauth://totp/"), scanned
        assert f"secret={secret}" in scanned

        # A wrong code, then the right one straight away: told to wait, not that it is wrong.
        secret_hex = base64.b32decode(secret + "=" * (-len(secret) % 8)).hex()
        type_into(page, "Code", "000000")
        page.keyboard.press("Enter")
        expect(page.get_by_text("That code is not right").first).to_be_visible()
        page.get_by_label("Code", exact=True).fill("")
        type_into(page, "Code", totp.code_at(secret_hex, totp.current_step()))
        page.keyboard.press("Enter")
        told_to_wait = page.get_by_text(re.compile(r"Wait \d+ seconds?, then type it again"))
        expect(told_to_wait.first).to_be_visible()
        expect(page.get_by_text("That code is not right")).to_have_count(0)
        check(page, "authenticator set-up page, told to wait")
        time.sleep(1.1)  # the wait it named (one wrong code: 1 second)
        page.get_by_label("Code", exact=True).fill("")
        type_into(page, "Code", totp.code_at(secret_hex, totp.current_step()))
        page.keyboard.press("Enter")

        expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
        check(page, "recovery codes page")
        page.get_by_role("link", name="I have kept my codes: continue").focus()
        page.keyboard.press("Enter")

        # A host (with other roles too) lands on their dashboard.
        expect(page.get_by_role("heading", name="Your dashboard", exact=True)).to_be_visible()
        # Rule P1: V.01's review date has passed; this coordinator is told on every page.
        expect(page.locator("#policy-overdue")).to_contain_text("overdue for review")
        check(page, "staff start page")
        for path, heading in (
            ("/accounts/", "Your account"),
            ("/accounts/confirm/", "Confirm it is you"),
            ("/staff/policy/", "Policy"),
            ("/staff/people/", "Staff accounts"),
            ("/staff/people/invite/", "Invite a member of staff"),
            ("/staff/audit/", "Audit log"),
            ("/meetings/", "All your meetings"),
        ):
            page.goto(stack.base_url + path)
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
            expect(page.locator("#policy-overdue")).to_be_visible()
            check(page, path)

        page.goto(f"{stack.base_url}/staff/policy/")
        page.get_by_role("link", name="Version V.01").click()
        check(page, "policy version page")

        # A bad draft: the error summary and each field's error are accessible too.
        page.goto(f"{stack.base_url}/staff/policy/drafts/new/")
        check(page, "new policy version page")
        type_into(page, "Version", "V.01")
        page.get_by_role("button", name="Save draft").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_text("Nothing was saved.")).to_be_visible()
        check(page, "policy draft with errors")

        page.goto(f"{stack.base_url}/staff/people/")
        page.get_by_role("link", name="Alex Morgan").first.click()
        check(page, "staff member page")
        page.get_by_role("link", name="Change job title or roles").click()
        check(page, "change staff page")

        page.goto(f"{stack.base_url}/accounts/set-up/no-such-link/")
        check(page, "set-up link problem page")
