"""Form limits are said, never silent; the date is typed as people in the UK write it
(issue 13, item 11). In Chromium, as a host would type."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.harness import flows
from tests.harness.browser import axe_violations, chromium
from tests.harness.staff import sign_in_browser

pytestmark = pytest.mark.live

ARTIFACTS = Path(__file__).resolve().parent.parent / "var" / "test-artifacts"


def test_a_long_title_or_name_is_refused_with_the_limit_and_nothing_is_cut(stack):
    email = flows.unique_email("host")
    password = stack.create_staff(email)
    long_title = "Annual review " + "x" * 216  # 230 characters
    with chromium(stack, fake_devices=False) as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        sign_in_browser(page, stack, email, password)
        page.goto(f"{stack.base_url}/staff/")
        # No field of the form stops typing at a hidden limit.
        assert page.locator("input[type=text][maxlength], textarea[maxlength]").count() == 0
        title = page.get_by_label("Title")
        expect(page.get_by_text("Up to 200 characters.")).to_be_visible()
        title.fill(long_title)
        assert len(title.input_value()) == 230  # the browser kept every character
        page.get_by_label("Type of meeting").select_option(label="One-to-one meeting")
        when = page.get_by_label("Date and start time")
        # The hint and the field agree: day/month/year, as typed.
        assert when.get_attribute("type") == "text"
        expect(page.get_by_text("Day/month/year and a 24-hour time")).to_be_visible()
        when.fill("15/01/2030 10:00")
        page.get_by_role("button", name="Schedule meeting").click()
        expect(
            page.get_by_text("Please keep the title to 200 characters or fewer. It has 230.")
        ).to_be_visible()
        assert page.get_by_label("Title").input_value() == long_title  # nothing lost
        # "Error:" is said once, not twice (the page's words and its style both added one).
        error = page.locator(".field-error .error").first
        styled = error.evaluate("e => getComputedStyle(e, '::before').content")
        assert error.inner_text().startswith("Error:") and styled in ("none", "normal"), styled
        assert axe_violations(page) == [], "axe-core violations on the refused form"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "form-limit-refused.png"), full_page=True)

        page.get_by_label("Title").fill("Annual review for Sam")
        page.get_by_label("Date and start time").fill("15/01/2030 10:00")
        page.get_by_role("button", name="Schedule meeting").click()
        expect(page.get_by_role("heading", name="Annual review for Sam")).to_be_visible()
        expect(page.get_by_text("Tuesday 15 January 2030, 10:00")).to_be_visible()

        # A name over the limit on the invitation form: said, and kept as typed.
        assert page.locator("input[type=text][maxlength], textarea[maxlength]").count() == 0
        page.get_by_label("Full name").fill("N" * 160)
        page.get_by_label("Email address").fill(flows.unique_email("long"))
        page.get_by_label("They are a").select_option(label="Parent or carer")
        page.get_by_role("button", name="Send invitation").click()
        expect(
            page.get_by_text("Please use a name of 150 characters or fewer. It has 160.")
        ).to_be_visible()
        assert page.get_by_label("Full name").input_value() == "N" * 160


def test_a_date_typed_the_wrong_way_gets_a_clear_message(stack):
    host, _ = flows.sign_in(stack)
    page = host.get("/staff/").text
    type_id = re.search(r'<option value="(\d+)"[^>]*>One-to-one', page)
    assert type_id
    for bad in ("2030/15/01 10:00", "tomorrow", "15/01/2030"):
        response = flows.post_form(
            host,
            "/meetings/",
            {"title": "Review", "meeting_type": type_id.group(1), "starts_at": bad},
        )
        assert response.status_code == 400, bad
        assert "as day/month/year and a 24-hour time" in response.text
    ok = flows.post_form(
        host,
        "/meetings/",
        {"title": "Review", "meeting_type": type_id.group(1), "starts_at": "15/01/2030 10:00"},
    )
    assert ok.status_code == 302
