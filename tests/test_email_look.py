"""Emails look like the service's own and greet the person who reads them (issue 13,
items 3 and 4).

Real emails, sent by the live Haven through the test's SMTP server, are opened in
Chromium as a mail app would show them: at a phone's width and a desktop's, in light and
in dark mode. Each must be axe-clean (WCAG 2.2 AA, colour contrast included), fit the
screen, and have a button big enough to press; the sender is the organisation by name.
"""

from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.harness import database, flows
from tests.harness.browser import axe_violations, chromium
from tests.harness.staff import sign_in_staff

pytestmark = pytest.mark.live

ARTIFACTS = Path(__file__).resolve().parent.parent / "var" / "test-artifacts"


def organisation_of(stack, meeting_id: str) -> str:
    [row] = database.query(
        stack,
        "SELECT o.name FROM policy_organisation o JOIN meetings_meeting m"
        " ON m.organisation_id = o.id WHERE m.public_id = ?",
        meeting_id.replace("-", ""),
    )
    return str(row["name"])


def html_part(message: EmailMessage) -> str:
    return flows.html_of(message)


def looks_right(page: Page, html: str, where: str, button: str | None) -> None:
    """The email as a mail app shows it: axe-clean, no sideways scroll, a big button."""
    page.set_content(html)
    assert axe_violations(page) == [], f"axe-core violations in {where}"
    fits = page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, f"{where} scrolls sideways"
    if button is not None:
        link = page.get_by_role("link", name=button)
        box = link.bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44, (where, box)
    size = page.evaluate("() => getComputedStyle(document.querySelector('main')).fontSize")
    assert float(size.removesuffix("px")) >= 16, (where, size)
    page.screenshot(path=str(ARTIFACTS / f"email-{where}.png"), full_page=True)


def test_emails_come_from_the_service_by_name_and_look_like_its_own(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    service = organisation_of(stack, meeting_id)
    # A child with no address of their own: everything goes to their parent's inbox.
    parent = flows.unique_email("parent")
    response = flows.send_invitation(
        host,
        meeting_id,
        name="Mia Carter",
        email=parent,
        role="child",
        parent_name="Jo Carter",
        parent_email=parent,
    )
    assert response.status_code == 302, response.text
    consent = flows.newest_mail_to(stack, parent, flows.CONSENT_SUBJECT)
    flows.give_consent(stack, flows.read_consent_link(stack, parent), supervising_adult="Jo")
    link_mail = flows.newest_mail_to(stack, parent, "Your link")
    code_mail = flows.newest_mail_to(stack, parent, "Your passcode")
    coordinator = sign_in_staff(stack, "coord", "coordinator")
    new_member = flows.unique_email("newstaff")
    data = {"full_name": "Robin Newman", "email": new_member, "job_title": "Adviser"}
    token = flows.CSRF.search(coordinator.client.get("/accounts/").text)
    assert token
    form = {**data, "roles": ["host"], "csrfmiddlewaretoken": token.group(1)}
    assert coordinator.client.post("/staff/people/invite/", data=form).status_code == 302
    setup_mail = stack.mail_to(new_member, "Set up your Haven staff account")

    for message in (consent, link_mail, code_mail):
        name, address = parseaddr(message["From"])
        assert name == service and address, message["From"]
    assert parseaddr(setup_mail["From"])[0] == service, setup_mail["From"]

    # Item 4: the parent reads the child's emails, so they greet the parent.
    for message in (link_mail, code_mail):
        for part in (flows.text_of(message), html_part(message)):
            assert "Hello Jo Carter." in part and "Hello Mia" not in part
            assert "Mia Carter's" in part
    assert "Here is Mia Carter's personal link" in flows.text_of(link_mail)
    assert "Here is Mia Carter's passcode" in flows.text_of(code_mail)
    # The plain-text part still carries the link itself.
    assert flows.LINK.search(flows.text_of(link_mail))

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    emails = [
        ("consent", consent, "Give consent for Mia Carter"),
        ("link", link_mail, "Open Mia Carter's link"),
        ("passcode", code_mail, None),
        ("staff-setup", setup_mail, "Set up your account"),
    ]
    with chromium(stack, fake_devices=False) as browser:
        for scheme in ("light", "dark"):
            for width, height in ((320, 640), (1280, 800)):
                context = browser.new_context(
                    viewport={"width": width, "height": height}, color_scheme=scheme
                )
                page = context.new_page()
                for kind, message, button in emails:
                    looks_right(page, html_part(message), f"{kind}-{width}-{scheme}", button)
                context.close()


def test_a_childs_emails_to_their_own_address_greet_the_child(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    invited = flows.invite(stack, host, meeting_id, "Kai Lee", role="child")
    link_mail = flows.newest_mail_to(stack, invited.email, "Your link")
    text = flows.text_of(link_mail)
    assert "Hello Kai Lee." in text and "has invited you to a video meeting" in text
    assert "Parent of Kai Lee" not in text
