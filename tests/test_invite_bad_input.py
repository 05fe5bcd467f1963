"""Bad input on the way to a meeting: clear messages, nothing half-saved, names escaped."""

import html
from typing import Any

import icalendar

from tests.harness import database, flows

NASTY = '<script>alert("hi")</script> & <b>Bold</b>'


def invitations_to(stack, address: str) -> list[dict[str, Any]]:
    return database.query(stack, "SELECT * FROM invitations_invitation WHERE email = ?", address)


def test_an_invalid_email_address_is_refused_and_nothing_is_saved(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    for bad in ("not-an-email", "two@@example.org", "spaces in@example.org", ""):
        page = flows.send_invitation(host, meeting_id, name="Pat Lee", email=bad)
        assert page.status_code == 400
        assert "Enter a valid email address." in page.text or "This field is required." in page.text
    assert "Nobody is invited yet." in host.get(f"/meetings/{meeting_id}/").text


def test_a_duplicate_email_address_is_refused(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    address = flows.unique_email("parent")
    assert flows.send_invitation(host, meeting_id, name="Pat Lee", email=address).status_code == 302
    again = flows.send_invitation(host, meeting_id, name="Pat Lee", email=address.upper())
    assert again.status_code == 400 and f"{address} is already invited" in again.text
    assert len(invitations_to(stack, address)) == 1
    assert len(flows.mails_to(stack, address, flows.CONSENT_SUBJECT)) == 1


def test_a_child_may_share_a_parents_address(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    parent = flows.unique_email("parent")
    assert flows.send_invitation(host, meeting_id, name="Jo Shaw", email=parent).status_code == 302
    for child in ("Robin Shaw", "Alex Shaw"):
        response = flows.send_invitation(
            host,
            meeting_id,
            name=child,
            email=parent,
            role="child",
            parent_name="Jo Shaw",
            parent_email=parent,
        )
        assert response.status_code == 302
    same = flows.send_invitation(
        host,
        meeting_id,
        name="Robin Shaw",
        email=parent,
        role="child",
        parent_name="Jo Shaw",
        parent_email=parent,
    )
    assert same.status_code == 400 and "already invited" in same.text
    assert len(invitations_to(stack, parent)) == 3


def test_U3_a_child_without_a_parent_or_carer_email_is_refused(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    child = flows.unique_email("child")
    page = flows.send_invitation(host, meeting_id, name="Robin Shaw", email=child, role="child")
    assert page.status_code == 400
    assert "For a child under 16, give their parent or carer&#x27;s email address" in page.text
    assert "For a child under 16, give a parent or carer." in page.text
    page = flows.send_invitation(
        host,
        meeting_id,
        name="Robin Shaw",
        email=child,
        role="child",
        parent_name="Jo Shaw",
        parent_email="not an email",
    )
    assert page.status_code == 400 and "Enter a valid email address." in page.text
    assert invitations_to(stack, child) == []
    assert flows.mails_to(stack, child, "") == []


def test_names_have_a_clear_length_limit_and_no_line_breaks(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    address = flows.unique_email("long")
    page = flows.send_invitation(host, meeting_id, name="A" * 151, email=address)
    assert page.status_code == 400
    assert "Please use a name of 150 characters or fewer." in page.text
    page = flows.send_invitation(host, meeting_id, name="Pat\nLee", email=address)
    assert page.status_code == 400 and "such as a line break" in page.text
    page = flows.send_invitation(host, meeting_id, name="Pat \u202eeeL", email=address)
    assert page.status_code == 400
    assert invitations_to(stack, address) == []
    longest = "Bartholomew " * 12 + "Y" * 6  # exactly 150 characters
    assert len(longest.strip()) == 150
    page = flows.send_invitation(host, meeting_id, name=longest, email=address)
    assert page.status_code == 302
    assert invitations_to(stack, address)[0]["name"] == longest.strip()


def test_html_in_names_is_escaped_everywhere_emails_included(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host, title=f"Review {NASTY}")
    child, parent = flows.unique_email("child"), flows.unique_email("parent")
    response = flows.send_invitation(
        host,
        meeting_id,
        name=NASTY,
        email=child,
        role="child",
        parent_name=f"Parent {NASTY}",
        parent_email=parent,
    )
    assert response.status_code == 302
    escaped = html.escape(NASTY)
    for page in (host.get(f"/meetings/{meeting_id}/").text, host.get("/meetings/").text):
        assert "<script>" not in page and escaped in page
    consent_mail = flows.newest_mail_to(stack, parent, flows.CONSENT_SUBJECT)
    body_html = flows.html_of(consent_mail)
    assert "<script>" not in body_html and escaped in body_html
    assert NASTY in flows.text_of(consent_mail)  # plain text is shown as it is
    assert "\n" not in consent_mail["Subject"]
    link = flows.read_consent_link(stack, parent)
    page = stack.http().get(flows.path_of(stack, link))
    assert "<script>" not in page.text and escaped in page.text
    assert flows.give_consent(stack, link, supervising_adult=NASTY).status_code == 302
    link_mail = flows.newest_mail_to(stack, child, "Your link")
    assert "<script>" not in flows.html_of(link_mail) and escaped in flows.html_of(link_mail)
    [part] = [p for p in link_mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    event = icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")[0]
    assert event["ATTENDEE"].params["CN"] == NASTY and str(event["SUMMARY"]) == f"Review {NASTY}"
    detail = host.get(f"/meetings/{meeting_id}/").text
    assert "<script>" not in detail and f"Supervising adult</dt><dd>{escaped}" in detail


def test_consent_without_ticking_agree_is_refused_and_nothing_is_saved(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    address = flows.unique_email("parent")
    flows.send_invitation(host, meeting_id, name="Pat Lee", email=address)
    link = flows.read_consent_link(stack, address)
    client = stack.http()
    path = flows.path_of(stack, link)
    version = flows.RULES_VERSION.search(client.get(path).text)
    assert version
    page = flows.post_form(client, path, {"rules_version": version.group(1)})
    assert page.status_code == 400
    assert "Please tick the box to agree to the house rules." in page.text
    page = flows.post_form(
        client,
        path,
        {"rules_version": version.group(1), "agree": "on", "need_interpreter": "on"},
    )
    assert page.status_code == 400 and "Please say which language you need." in page.text
    page = flows.post_form(
        client, path, {"rules_version": version.group(1), "agree": "on", "other_needs": "x" * 1001}
    )
    assert page.status_code == 400
    assert database.consents(stack, address) == []
    assert flows.mails_to(stack, address, "Your link") == []
    # A stale version of the rules in the form is refused, not recorded against new ones.
    stale = flows.post_form(client, path, {"rules_version": "99", "agree": "on"})
    assert (
        stale.status_code == 400 and "The house rules changed while you were reading" in stale.text
    )
    assert database.consents(stack, address) == []
    # The link still works after all that.
    assert flows.give_consent(stack, link).status_code == 302


def test_an_unknown_consent_link_shows_a_clear_page(stack):
    page = stack.http().get("/consent/not-a-real-link-000000000000000000000000/")
    assert page.status_code == 404 and "This link does not work" in page.text
    assert "Traceback" not in page.text


def test_house_rules_cannot_be_emptied(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    page = flows.post_form(
        host, f"/meetings/{meeting_id}/house-rules/", {"text": " ", "easy_read": ""}
    )
    assert page.status_code == 400 and "Please write at least one rule." in page.text
    assert "House rules</dt><dd>Version 1" in host.get(f"/meetings/{meeting_id}/").text
