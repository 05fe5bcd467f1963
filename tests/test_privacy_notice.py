"""The privacy notice, written from the policy data, and the links to it (rules D1, D2, S7).

Every page and email an attendee sees links to the notice of the policy version their
meeting records, and names the policy contact address.
"""

import datetime as dt
import html
import re
import tomllib
from pathlib import Path

import pytest
from playwright.sync_api import ViewportSize

from tests.harness import database, flows
from tests.harness.browser import axe_violations, chromium

POLICY_FILE = Path(__file__).parent.parent / "haven/policy/data/sendiass-leicester-v01.toml"
SEED = tomllib.loads(POLICY_FILE.read_text())
SLUG = SEED["organisation"]["slug"]
FIRST_NOTICE = f"/privacy/{SLUG}/v/{SEED['policy']['version']}/"
CONTACT = SEED["policy"]["contact_email"]
PRIVACY = SEED["policy"]["privacy_url"]
PHONE: ViewportSize = {"width": 320, "height": 640}


def retention_rows(page: str) -> dict[str, str]:
    """The notice's retention table: meeting type name -> "N days"."""
    table = page.split('<table id="retention">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<th scope="row">([^<]+)</th><td>([^<]+)</td>', table)
    return {html.unescape(name): days for name, days in rows}


def notice_path_of_meeting(stack, address: str) -> str:
    """The notice of the policy version that this person's meeting records (rule P1)."""
    [row] = database.query(
        stack,
        "SELECT v.version, o.slug FROM invitations_invitation i"
        " JOIN meetings_meeting m ON m.id = i.meeting_id"
        " JOIN policy_policyversion v ON v.id = m.policy_id"
        " JOIN policy_organisation o ON o.id = v.organisation_id"
        " WHERE i.id = ?",
        database.invitation(stack, address)["id"],
    )
    return f"/privacy/{row['slug']}/v/{row['version']}/"


def assert_links_notice(stack, page: str, notice: str, where: str) -> None:
    assert f'href="{html.escape(notice)}"' in page, f"no link to the notice on {where}"
    assert f'href="{PRIVACY}"' in page, f"no link to the privacy policy on {where}"
    assert f"mailto:{CONTACT}" in page, f"no contact address on {where}"
    assert stack.http().get(notice).status_code == 200, notice


def test_D1_the_notice_names_controller_and_processor(stack):
    page = stack.http().get(FIRST_NOTICE)
    assert page.status_code == 200
    controller = page.text.split('<dd id="controller">', 1)[1].split("</dd>", 1)[0]
    processor = page.text.split('<dd id="processor">', 1)[1].split("</dd>", 1)[0]
    assert controller.startswith(html.escape(SEED["policy"]["controller"]))
    assert processor.startswith(html.escape(SEED["policy"]["processor"]))
    assert "Data controller" in page.text and "Data processor" in page.text
    # What is kept and why, that nothing is recorded (S7), the rights and where to ask.
    for words in ("your name, your email address and your role", "pseudonym", "encrypted"):
        assert words in page.text
    assert "Haven cannot record sound or video" in page.text
    assert "ico.org.uk" in page.text and f"mailto:{CONTACT}" in page.text
    assert f'href="{PRIVACY}"' in page.text


def test_D1_the_notice_lists_each_meeting_types_retention_from_the_policy_data(stack):
    first = stack.http().get(FIRST_NOTICE)
    expected = {t["name"]: f"{t['transcript_retention_days']} days" for t in SEED["meeting_types"]}
    assert len(expected) == 4
    assert retention_rows(first.text) == expected
    # The version in force (another test may have published a newer one) shows its own.
    in_force = stack.http().get(f"/privacy/{SLUG}/")
    assert in_force.status_code == 200
    [newest] = database.query(
        stack,
        "SELECT v.id, v.version FROM policy_policyversion v"
        " JOIN policy_organisation o ON o.id = v.organisation_id"
        " WHERE o.slug = ? ORDER BY v.published_at DESC, v.id DESC LIMIT 1",
        SLUG,
    )
    types = database.query(
        stack,
        "SELECT name, transcript_retention_days FROM policy_meetingtype WHERE policy_id = ?",
        newest["id"],
    )
    rows = {t["name"]: f"{t['transcript_retention_days']} days" for t in types}
    assert retention_rows(in_force.text) == rows
    assert f"version {html.escape(newest['version'])} of their policy" in in_force.text


def test_D1_an_unknown_organisation_or_version_gives_the_404_page(stack):
    for path in ("/privacy/no-such-service/", f"/privacy/{SLUG}/v/V.99/", "/privacy/x/v/V.01/"):
        response = stack.http().get(path)
        assert response.status_code == 404, path
        assert "Page not found" in response.text


def test_D2_every_attendee_page_links_the_notice(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    address = flows.unique_email("parent")
    assert flows.send_invitation(host, meeting_id, name="Jo Bell", email=address).is_redirect
    notice = notice_path_of_meeting(stack, address)
    consent_link = flows.read_consent_link(stack, address)
    consent_page = stack.http().get(flows.path_of(stack, consent_link))
    assert_links_notice(stack, consent_page.text, notice, "the consent page")
    assert flows.give_consent(stack, consent_link).status_code == 302
    link, passcode = flows.read_access_emails(stack, address, consent_first=False)
    passcode_page = stack.http().get(flows.path_of(stack, link))
    assert passcode_page.status_code == 200
    assert_links_notice(stack, passcode_page.text, notice, "the passcode page")
    invited = flows.Invited("Jo Bell", address, link, passcode)
    attendee = flows.enter_passcode(stack, invited)
    room = attendee.get(f"/room/{meeting_id}/")
    assert room.status_code == 200
    assert_links_notice(stack, room.text, notice, "the room page")
    # Staff pages link to the notice of the version in force.
    staff_page = host.get(f"/meetings/{meeting_id}/")
    assert f'href="/privacy/{SLUG}/v/' in staff_page.text


def test_D2_every_email_links_the_notice_and_names_the_contact(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    invited = flows.invite(stack, host, meeting_id)
    other = flows.invite(stack, host, meeting_id, "Lee Moss")
    start = (dt.datetime.now() + dt.timedelta(days=1)).replace(second=0, microsecond=0)
    flows.post_form(
        host,
        f"/meetings/{meeting_id}/time/",
        {"starts_at": start.strftime("%Y-%m-%dT%H:%M"), "duration_minutes": "60"},
    )
    other_id = database.invitation(stack, other.email)["id"]
    cancel = f"/meetings/{meeting_id}/invitations/{other_id}/cancel/"
    token = flows.CSRF.search(host.get(f"/meetings/{meeting_id}/").text)
    assert token
    assert host.post(cancel, data={"csrfmiddlewaretoken": token.group(1)}).status_code == 302
    flows.newest_mail_to(stack, other.email, "Cancelled")
    flows.post_form(host, f"/meetings/{meeting_id}/cancel/", {})
    flows.newest_mail_to(stack, invited.email, "Cancelled")
    notice = stack.base_url + notice_path_of_meeting(stack, invited.email)
    messages = [m for m in stack.all_mail() if invited.email in m["To"] or other.email in m["To"]]
    # Each: consent request, link, passcode, new time; then one invitation and one
    # meeting cancelled.
    assert len(messages) == 10, [m["Subject"] for m in messages]
    for message in messages:
        text, body = flows.text_of(message), flows.html_of(message)
        assert notice in text and f'href="{html.escape(notice)}"' in body, message["Subject"]
        for part in (text, body):
            assert CONTACT in part and PRIVACY in part, message["Subject"]
    assert stack.http().get(flows.path_of(stack, notice)).status_code == 200


@pytest.mark.browser
def test_D1_the_notice_is_axe_clean_keyboard_usable_and_fits_320px(stack):
    with chromium(stack) as browser:
        page = browser.new_page(viewport=PHONE)
        page.goto(stack.base_url + FIRST_NOTICE)
        assert axe_violations(page) == [], "axe-core violations on the privacy notice"
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"the notice is wider than the screen: {width}"
        reached = set()
        for _ in range(30):
            page.keyboard.press("Tab")
            reached.add(page.evaluate("() => document.activeElement.getAttribute('href')"))
        assert PRIVACY in reached and "https://ico.org.uk/make-a-complaint/" in reached
        assert f"mailto:{CONTACT}" in reached
