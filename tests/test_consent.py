"""Consent first, then access (rules G1, U3, U4, U5, V2, S1), over HTTP and real email."""

import html
import json
import re
from typing import Any

from tests.harness import database, flows


def card(host, meeting_id: str, name: str) -> str:
    """The host's view of one invitee on the meeting page."""
    page = host.get(f"/meetings/{meeting_id}/").text
    for chunk in page.split('<li class="invitee">')[1:]:
        if f"<h3>{html.escape(name)}</h3>" in chunk:
            return chunk.split("</li>", 1)[0]
    raise AssertionError(f"{name} is not on the meeting page")


def audit_for(stack, action: str, email: str) -> list[dict[str, Any]]:
    return [row for row in stack.audit(action) if email in row["actor_label"]]


def details(row: dict[str, Any]) -> dict[str, Any]:
    return json.loads(row["details"])


def test_G1_inviting_sends_the_house_rules_and_a_consent_link_but_no_access_link(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    address = flows.unique_email("parent")
    response = flows.send_invitation(host, meeting_id, name="Pat Lee", email=address)
    assert response.status_code == 302
    message = flows.newest_mail_to(stack, address, flows.CONSENT_SUBJECT)
    text, body_html = flows.text_of(message), flows.html_of(message)
    assert "Join from a place where nobody else can overhear you" in text  # the rules
    assert "Be in a private place." in text  # and their easy-read version
    assert "<li>Be in a private place." in body_html
    assert flows.CONSENT_LINK.search(text) and "/join/" not in text + body_html
    for part in (text, body_html):  # rule D2
        assert "info@sendiassleicester.org.uk" in part
        assert "https://sendiassleicester.org.uk/privacy-policy/" in part
    assert flows.mails_to(stack, address, "Your link") == []
    assert flows.mails_to(stack, address, "Your passcode") == []
    assert "Invited: waiting for consent" in card(host, meeting_id, "Pat Lee")
    invitation_id = database.invitation(stack, address)["id"]
    [requested] = [
        r for r in stack.audit("consent.requested") if r["invitation_id"] == invitation_id
    ]
    assert details(requested) == {"reason": "invited", "rules_version": 1, "sent_to": "invitee"}
    assert address not in json.dumps(requested)  # the audit log names people by pseudonym


def test_G1_the_link_and_passcode_come_only_after_consent_which_records_the_rules(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    address = flows.unique_email("parent")
    flows.send_invitation(host, meeting_id, name="Pat Lee", email=address)
    consent_link = flows.read_consent_link(stack, address)
    page = stack.http().get(flows.path_of(stack, consent_link))
    assert "What Haven records, and why" in page.text
    assert "https://sendiassleicester.org.uk/privacy-policy/" in page.text
    assert "The same rules in easy read" in page.text
    assert flows.mails_to(stack, address, "Your link") == []

    response = flows.give_consent(stack, consent_link)
    assert response.status_code == 302 and response.headers["location"] == "/consent/done/"
    link, passcode = flows.read_access_emails(stack, address, consent_first=False)
    attendee = flows.enter_passcode(stack, flows.Invited("Pat Lee", address, link, passcode))
    assert attendee.get(f"/room/{meeting_id}/").status_code == 200

    [consent] = database.consents(stack, address)
    rules = database.query(
        stack, "SELECT * FROM meetings_houserules WHERE id = ?", consent["house_rules_id"]
    )[0]
    assert consent["rules_version"] == rules["version"] == 1
    assert consent["rules_sha256"] == rules["sha256"] and len(rules["sha256"]) == 64
    assert consent["given_by_email"] == address and not consent["on_behalf_of_child"]
    [given] = audit_for(stack, "consent.given", address)
    assert details(given)["rules_version"] == 1
    assert details(given)["rules_sha256"] == rules["sha256"]
    assert "Link sent" in card(host, meeting_id, "Pat Lee")


def test_U3_child_gets_no_link_before_parental_consent(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host, kind="youth_group")
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
    consent_mail = flows.newest_mail_to(stack, parent, flows.CONSENT_SUBJECT)
    assert "your consent for Robin Shaw" in consent_mail["Subject"]
    assert "Hello Jo Shaw" in flows.text_of(consent_mail)
    assert flows.mails_to(stack, child, "") == []  # nothing at all to the child yet
    assert "Invited: waiting for consent" in card(host, meeting_id, "Robin Shaw")

    # The consent page asks the parent to name the supervising adult (U3, U5).
    link = flows.read_consent_link(stack, parent)
    refused = flows.give_consent(stack, link)
    assert refused.status_code == 400
    assert "Please give the name of the adult." in refused.text
    assert flows.mails_to(stack, child, "") == [] and database.consents(stack, child) == []

    assert flows.give_consent(stack, link, supervising_adult="Jo Shaw").status_code == 302
    child_link, passcode = flows.read_access_emails(stack, child, consent_first=False)
    assert flows.mails_to(stack, parent, "Your link") == []  # the child's own link
    [consent] = database.consents(stack, child)
    assert consent["on_behalf_of_child"] and consent["given_by_email"] == parent
    assert consent["given_by_name"] == "Jo Shaw" and consent["supervising_adult"] == "Jo Shaw"
    [given] = [r for r in stack.audit("consent.given") if parent in r["actor_label"]]
    assert "parent or carer of Robin Shaw" in given["actor_label"]
    assert details(given)["supervising_adult_named"] is True  # the name is in the consent
    shown = card(host, meeting_id, "Robin Shaw")
    assert "Supervising adult</dt><dd>Jo Shaw" in shown and "(parent or carer)" in shown
    attendee = flows.enter_passcode(stack, flows.Invited("Robin Shaw", child, child_link, passcode))
    assert attendee.get(f"/room/{meeting_id}/").status_code == 200


def test_U4_young_person_consents_alone(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host, kind="youth_group")
    young = flows.unique_email("young")
    flows.send_invitation(host, meeting_id, name="Ash Patel", email=young, role="young_person")
    message = flows.newest_mail_to(stack, young, flows.CONSENT_SUBJECT)
    assert "Hello Ash Patel" in flows.text_of(message)
    page = stack.http().get(flows.path_of(stack, flows.read_consent_link(stack, young)))
    assert 'name="supervising_adult"' not in page.text  # nobody else is asked
    assert flows.give_consent(stack, flows.read_consent_link(stack, young)).status_code == 302
    flows.read_access_emails(stack, young, consent_first=False)
    [consent] = database.consents(stack, young)
    assert consent["given_by_email"] == young and not consent["on_behalf_of_child"]
    # Only the young person was ever emailed about this invitation.
    invitation_id = database.invitation(stack, young)["id"]
    sent_to = {
        details(r)["to"] for r in stack.audit("email.sent") if r["invitation_id"] == invitation_id
    }
    assert sent_to == {"invitee"}


def test_U5_host_can_ask_for_a_supervising_adult_for_anyone(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    address = flows.unique_email("supported")
    flows.send_invitation(
        host,
        meeting_id,
        name="Lee Grant",
        email=address,
        role="young_person",
        needs_supervision=True,
    )
    link = flows.read_consent_link(stack, address)
    assert flows.give_consent(stack, link).status_code == 400
    assert flows.give_consent(stack, link, supervising_adult="Mo Grant").status_code == 302
    assert "Supervising adult</dt><dd>Mo Grant" in card(host, meeting_id, "Lee Grant")


def test_V2_access_needs_and_things_to_show_reach_the_host(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    address = flows.unique_email("parent")
    flows.send_invitation(host, meeting_id, name="Pat Lee", email=address)
    response = flows.give_consent(
        stack,
        flows.read_consent_link(stack, address),
        need_interpreter="on",
        interpreter_language="Polish",
        need_breaks="on",
        other_needs="Large text, please",
        show_on_screen="The school's letter of 3 May",
    )
    assert response.status_code == 302
    shown = card(host, meeting_id, "Pat Lee")
    assert "An interpreter (Polish); Breaks; Other: Large text, please" in shown
    assert "The school&#x27;s letter of 3 May" in shown


def test_G1_changed_rules_force_consent_again_before_anyone_enters(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    invited = flows.invite(stack, host, meeting_id)
    attendee = flows.enter_passcode(stack, invited)
    assert attendee.get(f"/room/{meeting_id}/").status_code == 200

    page = host.get(f"/meetings/{meeting_id}/house-rules/").text
    text = re.search(r'name="text"[^>]*>([^<]*)</textarea>', page)
    easy = re.search(r'name="easy_read"[^>]*>([^<]*)</textarea>', page)
    assert text and easy
    new_text = html.unescape(text.group(1)).strip() + "\n- Please keep to time."
    response = flows.post_form(
        host,
        f"/meetings/{meeting_id}/house-rules/",
        {"text": new_text, "easy_read": html.unescape(easy.group(1)).strip()},
    )
    assert response.status_code == 302
    assert "Asked to agree again" in card(host, meeting_id, invited.name)

    again = flows.newest_mail_to(stack, invited.email, "please agree again")
    assert "- Please keep to time." in flows.text_of(again)
    # The session from before, the passcode page and the socket all refuse now.
    assert attendee.get(f"/room/{meeting_id}/").status_code == 404
    gate = stack.http().get(flows.path_of(stack, invited.link))
    assert gate.status_code == 403 and "Please agree to the house rules first" in gate.text
    visitor = stack.http()
    token = flows.CSRF.search(visitor.get("/accounts/login/").text)  # any page with a form
    assert token
    refused = visitor.post(
        flows.path_of(stack, invited.link),
        data={"csrfmiddlewaretoken": token.group(1), "passcode": invited.passcode},
    )
    assert refused.status_code == 403
    assert len(audit_for(stack, "passcode.accepted", invited.email)) == 1  # the first time only
    # The consent link in the first email is replaced by the one in the new email.
    first_mail, new_mail = flows.mails_to(stack, invited.email, flows.CONSENT_SUBJECT)
    old = flows.CONSENT_LINK.search(flows.text_of(first_mail))
    assert old and stack.http().get(flows.path_of(stack, old.group(1))).status_code == 410
    new = flows.read_consent_link(stack, invited.email, count=2)
    assert new not in flows.text_of(first_mail) and new in flows.text_of(new_mail)

    assert flows.give_consent(stack, new).status_code == 302
    assert attendee.get(f"/room/{meeting_id}/").status_code == 200  # the old link works again
    assert len(flows.mails_to(stack, invited.email, "Your link")) == 1  # no new link needed
    first, second = database.consents(stack, invited.email)
    assert (first["rules_version"], second["rules_version"]) == (1, 2)
    assert first["rules_sha256"] != second["rules_sha256"]
    changed = [r for r in stack.audit("house_rules.changed") if r["meeting_id"] is not None]
    [mine] = [r for r in changed if details(r)["sha256"] == second["rules_sha256"]]
    assert details(mine)["version"] == 2


def test_S1_a_consent_link_works_once(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    address = flows.unique_email("parent")
    flows.send_invitation(host, meeting_id, name="Pat Lee", email=address)
    link = flows.read_consent_link(stack, address)
    assert flows.give_consent(stack, link).status_code == 302
    visitor = stack.http()
    page = visitor.get(flows.path_of(stack, link))
    assert page.status_code == 410 and "This link has already been used" in page.text
    assert "Traceback" not in page.text
    assert len(database.consents(stack, address)) == 1
    assert len(flows.mails_to(stack, address, "Your link")) == 1
    refused = audit_for(stack, "consent.link_refused", address)
    assert refused and details(refused[-1])["reason"] == "used"


def test_S1_a_consent_link_stops_working_after_the_meeting(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    address = flows.unique_email("parent")
    flows.send_invitation(host, meeting_id, name="Pat Lee", email=address)
    link = flows.read_consent_link(stack, address)
    socket = flows.Socket(stack, host, meeting_id)
    flows.join(socket)
    socket.send({"type": "end_meeting"})
    socket.expect("meeting_ended")
    page = stack.http().get(flows.path_of(stack, link))
    assert page.status_code == 410 and "This meeting has finished" in page.text
    assert database.consents(stack, address) == []
    assert details(audit_for(stack, "consent.link_refused", address)[-1])["reason"] == "finished"


def test_S1_an_expired_link_is_refused(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    invited = flows.invite(stack, host, meeting_id)
    other = flows.unique_email("parent")
    flows.send_invitation(host, meeting_id, name="Kim Ray", email=other)
    consent_link = flows.read_consent_link(stack, other)
    attendee = flows.enter_passcode(stack, invited)
    database.let_time_pass_for(stack, invited.email)
    database.let_time_pass_for(stack, other)
    page = stack.http().get(flows.path_of(stack, invited.link))
    assert page.status_code == 404 and "This meeting has finished" in page.text
    assert attendee.get(f"/room/{meeting_id}/").status_code == 404
    page = stack.http().get(flows.path_of(stack, consent_link))
    assert page.status_code == 410 and "This meeting has finished" in page.text


def test_S1_a_cancelled_invitation_refuses_its_consent_link(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    address = flows.unique_email("parent")
    flows.send_invitation(host, meeting_id, name="Pat Lee", email=address)
    link = flows.read_consent_link(stack, address)
    invitation_id = database.invitation(stack, address)["id"]
    detail = host.get(f"/meetings/{meeting_id}/").text
    token = flows.CSRF.search(detail)
    assert token
    cancel = f"/meetings/{meeting_id}/invitations/{invitation_id}/cancel/"
    assert host.post(cancel, data={"csrfmiddlewaretoken": token.group(1)}).status_code == 302
    page = stack.http().get(flows.path_of(stack, link))
    assert page.status_code == 410 and "This invitation has been cancelled" in page.text
    assert "Cancelled" in card(host, meeting_id, "Pat Lee")
    notice = flows.newest_mail_to(stack, address, "Cancelled")
    assert "The invitation for Pat Lee" in flows.text_of(notice)
    assert not list(notice.iter_attachments())  # no calendar event was ever sent to them
    # The same address can be invited again after a cancellation.
    again = flows.send_invitation(host, meeting_id, name="Pat Lee", email=address)
    assert again.status_code == 302


def test_S1_sending_again_replaces_the_consent_link_then_the_access_link(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    address = flows.unique_email("parent")
    flows.send_invitation(host, meeting_id, name="Pat Lee", email=address)
    first = flows.read_consent_link(stack, address)
    invitation_id = database.invitation(stack, address)["id"]
    resend = f"/meetings/{meeting_id}/invitations/{invitation_id}/resend/"
    token = flows.CSRF.search(host.get(f"/meetings/{meeting_id}/").text)
    assert token
    assert host.post(resend, data={"csrfmiddlewaretoken": token.group(1)}).status_code == 302
    second = flows.read_consent_link(stack, address, count=2)
    assert first != second
    page = stack.http().get(flows.path_of(stack, first))
    assert page.status_code == 410 and "There is a newer email" in page.text
    assert flows.give_consent(stack, second).status_code == 302
    old_link, _ = flows.read_access_emails(stack, address, consent_first=False)

    assert host.post(resend, data={"csrfmiddlewaretoken": token.group(1)}).status_code == 302
    flows.newest_mail_to(stack, address, "Your link", count=2)
    new_link, new_code = flows.read_access_emails(stack, address, consent_first=False)
    assert new_link != old_link
    assert stack.http().get(flows.path_of(stack, old_link)).status_code == 404
    attendee = flows.enter_passcode(stack, flows.Invited("Pat Lee", address, new_link, new_code))
    assert attendee.get(f"/room/{meeting_id}/").status_code == 200
    resent = [r for r in stack.audit("invitation.resent") if r["invitation_id"] == invitation_id]
    assert [details(r)["what"] for r in resent] == ["consent", "access"]


def test_U3_changing_someone_to_a_child_asks_their_parent_and_closes_the_link(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    invited = flows.invite(stack, host, meeting_id, name="Robin Shaw")
    invitation_id = database.invitation(stack, invited.email)["id"]
    change = f"/meetings/{meeting_id}/invitations/{invitation_id}/change/"
    missing = flows.post_form(host, change, {"name": "Robin Shaw", "role": "child"})
    assert missing.status_code == 400 and "For a child under 16" in missing.text
    assert database.invitation(stack, invited.email)["role"] == "parent_carer"

    parent = flows.unique_email("parent")
    response = flows.post_form(
        host,
        change,
        {"name": "Robin Shaw", "role": "child", "parent_name": "Jo Shaw", "parent_email": parent},
    )
    assert response.status_code == 302
    gate = stack.http().get(flows.path_of(stack, invited.link))
    assert gate.status_code == 403 and "your parent or carer" in gate.text
    first_ask = flows.newest_mail_to(stack, parent, flows.CONSENT_SUBJECT)
    assert "your consent for Robin Shaw" in first_ask["Subject"]  # not "again": a new person
    link = flows.read_consent_link(stack, parent)
    assert flows.give_consent(stack, link, supervising_adult="Jo Shaw").status_code == 302
    attendee = flows.enter_passcode(stack, invited)
    assert attendee.get(f"/room/{meeting_id}/").status_code == 200
    [changed] = [
        r for r in stack.audit("invitation.changed") if r["invitation_id"] == invitation_id
    ]
    assert set(details(changed)["fields"]) == {"role", "parent_name", "parent_email"}


def test_the_host_sees_who_has_joined(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    invited = flows.invite(stack, host, meeting_id)
    assert "Link sent" in card(host, meeting_id, invited.name)
    attendee = flows.enter_passcode(stack, invited)
    flows.join(flows.Socket(stack, attendee, meeting_id))
    assert "Joined" in card(host, meeting_id, invited.name)


def test_another_host_cannot_see_or_change_the_invitations(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    invited = flows.invite(stack, host, meeting_id)
    invitation_id = database.invitation(stack, invited.email)["id"]
    outsider, _ = flows.sign_in(stack, "outsider")
    base = f"/meetings/{meeting_id}"
    for path in (
        "/",
        "/house-rules/",
        "/time/",
        "/cancel/",
        f"/invitations/{invitation_id}/change/",
    ):
        assert outsider.get(base + path).status_code == 404
    token = flows.CSRF.search(outsider.get("/meetings/").text)
    assert token
    for path in ("resend", "cancel"):
        url = f"{base}/invitations/{invitation_id}/{path}/"
        assert outsider.post(url, data={"csrfmiddlewaretoken": token.group(1)}).status_code == 404
    assert database.invitation(stack, invited.email)["revoked_at"] is None


def test_the_invitation_message_and_the_consent_page_read_as_plain_english(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    parent = flows.unique_email("parent")
    response = flows.send_invitation(
        host,
        meeting_id,
        name="Lily Shaw",
        email=parent,
        role="child",
        parent_name="Jo Shaw",
        parent_email=parent,
    )
    assert response.status_code == 302
    shown = html.unescape(host.get(f"/meetings/{meeting_id}/").text)
    assert "we have emailed their parent or carer, Jo Shaw, the house rules" in shown
    page = html.unescape(
        stack.http().get(flows.path_of(stack, flows.read_consent_link(stack, parent))).text
    )
    assert "When Lily Shaw joins and leaves the meeting: to keep the meeting safe." in page
    assert "and leave the meeting" not in page
