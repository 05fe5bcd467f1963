"""The assurance pack (issue 19) on the live server: only coordinators and the service
manager reach it (P2), each document is axe-clean on screen, at 320 px and as a
downloaded file, and prints to A4 with numbered pages and nothing cut off.

What the documents say is tested on Django's test database (tests/test_assurance_pack.py).
"""

import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.harness.browser import axe_violations, chromium
from tests.harness.staff import new_organisation, sign_in_browser, sign_in_staff

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "var" / "test-artifacts"
SLUGS = ("dpia", "record-of-processing", "accessibility-statement", "security-summary")
TITLES = {
    "dpia": "Data protection impact assessment: draft",
    "record-of-processing": "Record of processing activities",
    "accessibility-statement": "Accessibility statement",
    "security-summary": "Security summary",
}
FITS = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
# A4 is 210 mm wide; assurance.css prints with 16 mm margins left and right.
PRINTABLE_PX = round((210 - 2 * 16) / 25.4 * 96)
# Elements whose right edge is past the printable width when laid out for print.
CUT_OFF = """(width) => [...document.querySelectorAll('#assurance-document *')]
  .filter(e => e.getBoundingClientRect().right > width + 0.5)
  .map(e => e.tagName + (e.id ? '#' + e.id : '') + ' ' + (e.textContent || '').slice(0, 40))"""


def test_P2_only_coordinators_and_the_service_manager_reach_the_assurance_pack(stack):
    allowed = {
        "coordinator": sign_in_staff(stack, "assure-coord", "coordinator").client,
        "service manager": sign_in_staff(stack, "assure-manager", "service_manager").client,
    }
    refused = {
        "host": sign_in_staff(stack, "assure-host", "host").client,
        "administrator": sign_in_staff(stack, "assure-admin", "administrator").client,
    }
    paths = ["/staff/assurance/"]
    for slug in SLUGS:
        paths += [f"/staff/assurance/{slug}/", f"/staff/assurance/{slug}/download/"]
        paths.append(f"/staff/assurance/{slug}/download.pdf")
    for who, client in allowed.items():
        assert 'href="/staff/assurance/"' in client.get("/staff/").text, who
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (who, path)
        download = client.get("/staff/assurance/dpia/download/")
        disposition = download.headers["content-disposition"]
        assert re.fullmatch(
            r'attachment; filename="haven-dpia-V\.01-\d{4}-\d\d-\d\d\.html"', disposition
        )
        assert download.headers["content-type"] == "text/html; charset=utf-8"
        assert "<style>" in download.text and "Step 7: Sign off" in download.text
        printed = client.get("/staff/assurance/record-of-processing/download.pdf")
        assert printed.headers["content-type"] == "application/pdf"
        assert printed.content.startswith(b"%PDF-")
        assert re.fullmatch(
            r'attachment; filename="haven-record-of-processing-V\.01-\d{4}-\d\d-\d\d\.pdf"',
            printed.headers["content-disposition"],
        )
    for who, client in refused.items():
        home = client.get("/staff/").text
        assert "/staff/assurance/" not in home, f"the {who} is shown a link to the pack"
        for path in [*paths, "/staff/assurance/no-such-document/"]:
            response = client.get(path)
            assert response.status_code == 404, (who, path)
            assert "Step 1" not in response.text
    nobody = stack.http()
    response = nobody.get("/staff/assurance/dpia/")
    assert response.status_code == 302
    assert response.headers["location"].startswith("/accounts/login/")
    # A document the coordinator may see but which does not exist is a 404 too.
    missing = allowed["coordinator"].get("/staff/assurance/no-such-document/")
    assert missing.status_code == 404
    downloads = [row for row in stack.audit("assurance.downloaded")]
    assert any("assure-coord" in row["actor_label"] for row in downloads)
    assert any("assure-manager" in row["actor_label"] for row in downloads)
    made = stack.audit("assurance.drafted") + downloads
    for who in ("assure-host", "assure-admin"):
        assert not any(who in row["actor_label"] for row in made), who


def test_P2_each_organisation_sees_its_own_pack_and_its_own_drafts(stack):
    slug = new_organisation(stack, controller="Elsewhere Council")
    ours = sign_in_staff(stack, "assure-ours", "coordinator").client
    theirs = sign_in_staff(stack, "assure-theirs", "coordinator", organisation=slug).client
    assert "Elsewhere Council" in theirs.get("/staff/assurance/record-of-processing/").text
    ours_record = ours.get("/staff/assurance/record-of-processing/").text
    assert "Elsewhere Council" not in ours_record
    draft = re.search(r'id="made-from-draft">Number (\d+)', ours_record)
    assert draft
    assert f'id="draft-{draft.group(1)}"' in ours.get("/staff/assurance/").text
    assert f'id="draft-{draft.group(1)}"' not in theirs.get("/staff/assurance/").text


def _check(page: Page, where: str) -> None:
    assert axe_violations(page) == [], f"axe-core violations on {where}"
    assert page.evaluate(FITS), f"{where} scrolls sideways at {page.viewport_size}"


def test_each_document_is_accessible_fits_320px_and_prints_to_A4_with_nothing_cut_off(stack):
    staff = sign_in_staff(stack, "assure-browser", "coordinator")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium(stack, fake_devices=False) as browser:
        context = browser.new_context(viewport={"width": 1024, "height": 900})
        page = context.new_page()
        sign_in_browser(page, stack, staff.email, staff.password, lands_on="Staff")
        page.get_by_role("link", name="Assurance", exact=True).click()
        expect(page.get_by_role("heading", name="Assurance pack", exact=True)).to_be_visible()
        _check(page, "the Assurance page")
        printed = {}
        for slug in SLUGS:
            page.goto(f"{stack.base_url}/staff/assurance/{slug}/")
            expect(page.get_by_role("heading", name=TITLES[slug], level=1)).to_be_visible()
            expect(page.locator("#made-from-policy")).to_contain_text("V.01")
            _check(page, slug)
            page.screenshot(path=ARTIFACTS / f"assurance-{slug}.png", full_page=True)
            printed[slug] = _print_check(page, slug)
            page.set_viewport_size({"width": 320, "height": 720})
            _check(page, f"{slug} at 320 px")
            if slug == "dpia":
                page.screenshot(path=ARTIFACTS / "assurance-dpia-320.png", full_page=True)
            page.set_viewport_size({"width": 1024, "height": 900})
            # The downloaded file stands alone: opened with no server, it is the same
            # document, styled, and as accessible.
            # Fetched by the page itself: the browser is in the stack's namespace.
            downloaded = page.evaluate(
                "url => fetch(url).then(r => r.text())", f"/staff/assurance/{slug}/download/"
            )
            offline = context.new_page()
            offline.route("**/*", lambda route: route.abort())
            offline.set_content(downloaded)
            expect(offline.get_by_role("heading", name=TITLES[slug], level=1)).to_be_visible()
            assert offline.evaluate(
                "() => getComputedStyle(document.querySelector('.to-complete')).borderStyle"
            ).startswith("dashed"), "the downloaded file has lost its styles"
            _check(offline, f"the downloaded {slug}")
            offline.close()
        print("A4 pages printed:", printed)
        assert printed["dpia"] > printed["accessibility-statement"] >= 1
        page.goto(f"{stack.base_url}/staff/assurance/")
        expect(page.locator("#assurance-drafts")).to_contain_text("Current")
        page.screenshot(path=ARTIFACTS / "assurance-index.png", full_page=True)
        _check(page, "the Assurance page with drafts")


def _print_check(page: Page, slug: str) -> int:
    """Laid out for print at the printable width of A4, nothing sticks out; printed by
    Chromium to A4, every page carries "Page n of N" (assurance.css's @page margin
    boxes), and the last page ends the document. Returns the number of pages."""
    page.emulate_media(media="print")
    page.set_viewport_size({"width": PRINTABLE_PX, "height": 1000})
    assert page.evaluate(CUT_OFF, PRINTABLE_PX) == [], f"{slug}: content wider than A4"
    assert page.locator(".site-header nav").is_hidden(), f"{slug}: the staff menu prints"
    assert page.locator("#document-actions").is_hidden(), f"{slug}: the page's links print"
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    (ARTIFACTS / f"assurance-{slug}.pdf").write_bytes(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    count = len(reader.pages)
    for number, printed in enumerate(reader.pages, start=1):
        width, height = float(printed.mediabox.width), float(printed.mediabox.height)
        assert (round(width), round(height)) == (595, 842), f"{slug}: page {number} is not A4"
        text = " ".join(printed.extract_text().split())
        assert f"Page {number} of {count}" in text, f"{slug}: page {number} has no number"
    last = " ".join(reader.pages[-1].extract_text().split())
    assert "End of the" in last, f"{slug}: the printed document does not reach its end"
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 1024, "height": 900})
    return count
