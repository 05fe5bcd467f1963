"""Subject access and erasure (rule D4) and the audit log's filters (rule D5).

The registry tests walk every model field in the project. The live tests seed one person
across every kind of data Haven holds (invited, consented with access needs, in the
meeting, chatting, banned, in a kept transcript) beside another person in the same
meeting, then check the export holds all of the one and none of the other, and that
erasure leaves nothing of them but pseudonymous audit entries.
"""

import datetime as dt
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import models
from django.test.utils import isolate_apps
from playwright.sync_api import expect

from haven.subjects.registry import (
    HOLDINGS,
    NOT_PERSONAL,
    PERSONAL,
    SPECIAL,
    Erasure,
    all_models,
    stale_entries,
    unregistered_fields,
)
from tests.harness import database, flows
from tests.harness.browser import axe_violations, chromium
from tests.harness.staff import (
    Staff,
    age_sessions,
    new_organisation,
    post_action,
    sign_in_browser,
    sign_in_staff,
)
from tests.test_in_meeting_protocol import Meeting, admitted, arrive, start_meeting

CSRF_VALUE = re.compile(r'value="[A-Za-z0-9]{64}"')
HOLDS_NOTHING = "Haven holds nothing about this address."
SEARCH = "/staff/subject-access/"
EXPORT = "/staff/subject-access/export.json"
ERASE = "/staff/subject-access/erase/"


def _normalised(html: str) -> str:
    return CSRF_VALUE.sub('value=""', html)


# The registry


def test_D4_every_model_field_is_registered_as_personal_or_not():
    assert unregistered_fields(all_models()) == []
    assert stale_entries(all_models()) == []


@isolate_apps("haven.subjects")
def test_D4_a_new_field_the_registry_does_not_know_fails_the_registry_test():
    class CaseNote(models.Model):
        written_about = models.CharField(max_length=100)

        class Meta:
            app_label = "subjects"

        def __str__(self) -> str:
            return self.written_about

    assert unregistered_fields([CaseNote]) == [
        "subjects.CaseNote.id",
        "subjects.CaseNote.written_about",
    ]


def test_D4_every_personal_field_says_what_erasure_does_and_why_it_is_kept():
    for label, fields in PERSONAL.items():
        for name, personal in fields.items():
            assert personal.what, f"{label}.{name}"
            if personal.erasure is Erasure.KEEP:
                assert personal.why, f"{label}.{name} is kept without a reason"
    reached = {holding.model for holding in HOLDINGS} | set(SPECIAL)
    assert set(PERSONAL) <= reached, "a model with personal data no search reaches"
    for holding in HOLDINGS:
        known = set(PERSONAL[holding.model]) | set(NOT_PERSONAL[holding.model])
        assert set(holding.fields) <= set(PERSONAL[holding.model]), holding.key
        assert set(holding.context) <= known, holding.key
        assert set(holding.blank) <= set(holding.fields), holding.key
        if holding.erasure is Erasure.KEEP:
            assert holding.keep is not None, f"{holding.key} is kept without a reason"


# Seeding a person across every kind of data


@dataclass
class Seeded:
    meeting: Meeting
    title: str
    email: str
    name: str
    chat: str
    needs: tuple[str, ...]
    other_email: str
    other_name: str
    other_chat: str
    removal_reason: str


def _seed(stack) -> Seeded:
    token = secrets.token_hex(4)
    title = f"Review {token}"
    meeting = start_meeting(stack, title)
    name, email = f"Quinn Q{token}", flows.unique_email("quinn")
    needs = (f"Welsh{token}", f"Large print {token}", f"My school letter {token}")
    sent = flows.send_invitation(meeting.host_client, meeting.id, name=name, email=email)
    assert sent.status_code == 302, sent.text
    agreed = flows.give_consent(
        stack,
        flows.read_consent_link(stack, email),
        need_interpreter="on",
        interpreter_language=needs[0],
        need_captions="on",
        other_needs=needs[1],
        show_on_screen=needs[2],
    )
    assert agreed.status_code == 302, agreed.text
    link, passcode = flows.read_access_emails(stack, email, consent_first=False)
    invited = flows.Invited(name, email, link, passcode)
    person, pid, _, _ = arrive(stack, meeting, name, invited=invited)
    meeting.host.send({"type": "admit", "participant": pid})
    person.expect("admitted")
    other_name = f"Olive O{token}"
    other, _, other_invited = admitted(stack, meeting, other_name)
    chat, other_chat = f"Quinn says purple {token}", f"Olive says orange {token}"
    assert person.request({"type": "chat", "text": chat})["type"] == "chat_sent"
    assert other.request({"type": "chat", "text": other_chat})["type"] == "chat_sent"
    reason = f"Broke the house rules twice ({token})."
    meeting.host.send({"type": "ban", "participant": pid, "reason": reason})
    assert person.expect("removed") == {"type": "removed"}
    meeting.host.send({"type": "end_meeting", "transcript": "keep"})
    other.expect("meeting_ended")
    return Seeded(
        meeting,
        title,
        email,
        name,
        chat,
        needs,
        other_invited.email,
        other_name,
        other_chat,
        reason,
    )


def _coordinator(stack, organisation: str = "sendiass-leicester") -> Staff:
    return sign_in_staff(stack, "coord", "coordinator", organisation=organisation)


def _look_up(staff: Staff, email: str) -> str:
    response = flows.post_form(staff.client, SEARCH, {"email": email})
    assert response.status_code == 200, response.text
    return response.text


def _export(staff: Staff, email: str) -> dict[str, Any]:
    response = post_action(staff.client, EXPORT, {"email": email}, page=SEARCH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert email not in response.headers["content-disposition"]
    return json.loads(response.text)


def _erase(staff: Staff, email: str, reason: str = "Request received 3 May, ref 41") -> str:
    response = post_action(
        staff.client,
        ERASE,
        {"email": email, "confirm_step": "1", "reason": reason, "confirm": "on"},
        page=SEARCH,
    )
    assert response.status_code == 200, response.text
    return response.text


def _pseudonym(stack, email: str) -> str:
    rows = database.query(stack, "SELECT ref FROM audit_auditidentity WHERE email = ?", email)
    assert len(rows) == 1, rows
    return rows[0]["ref"]


# Subject access


@pytest.mark.live
def test_D4_the_export_holds_every_datum_about_the_person_and_nothing_of_the_other(stack):
    seeded = _seed(stack)
    coordinator = _coordinator(stack)
    page = _look_up(coordinator, seeded.email)
    exported = _export(coordinator, seeded.email)
    text = json.dumps(exported, ensure_ascii=False)
    for datum in (seeded.email, seeded.name, seeded.chat, *seeded.needs, seeded.removal_reason):
        assert datum in text, datum
        assert datum.replace("'", "&#x27;") in page, datum
    data = exported["data"]
    assert {
        "invitations",
        "consents",
        "consent_requests",
        "participants",
        "removals",
        "bans",
        "audit_notes",
    } <= set(data)
    consent = data["consents"]["rows"][0]
    assert consent["need_interpreter"] is True and consent["need_captions"] is True
    assert consent["interpreter_language"] == seeded.needs[0]
    assert [line["text"] for line in exported["transcript_lines"]] == [seeded.chat]
    assert exported["transcript_lines"][0]["author"] == seeded.name
    assert data["bans"]["rows"][0]["reason"] == seeded.removal_reason
    actions = {entry["action"] for entry in exported["audit_log"]["entries"]}
    assert {"invitation.created", "consent.given", "room.admitted", "room.banned"} <= actions
    # Nothing of the other person in the same meeting.
    for theirs in (seeded.other_email, seeded.other_name, seeded.other_chat):
        assert theirs not in text and theirs not in page, theirs
    # Both requests and the transcript read are audited, without the address.
    mine = [
        row
        for row in stack.audit()
        if row["actor_label"] and coordinator.email in row["actor_label"]
    ]
    done = [row["action"] for row in mine]
    assert {"subject.looked_up", "subject.exported", "transcript.subject_access"} <= set(done)
    assert all(seeded.email not in row["details"] for row in mine)


@pytest.mark.live
def test_D4_an_unknown_address_gets_a_clear_answer_of_the_same_shape_and_is_audited(stack):
    seeded = _seed(stack)
    coordinator = _coordinator(stack)
    unknown = flows.unique_email("nobody")
    page = _look_up(coordinator, unknown)
    assert HOLDS_NOTHING in page
    assert "Erase this person" not in page and "What erasure keeps" not in page
    nothing, known = _export(coordinator, unknown), _export(coordinator, seeded.email)
    assert set(nothing) == set(known)
    assert nothing["data"] == {} and nothing["transcript_lines"] == []
    assert nothing["holds_anything"] is False and nothing["kept_on_erasure"] == []
    assert nothing["audit_log"]["entries"] == []
    looked_up = [
        json.loads(row["details"])
        for row in stack.audit("subject.looked_up")
        if coordinator.email in (row["actor_label"] or "")
    ]
    assert looked_up[0]["holds_anything"] is False and len(looked_up[0]["person"]) == 32
    # Bad input: not an address at all is refused with the reason, and nothing is looked up.
    before = len(stack.audit("subject.looked_up"))
    bad = flows.post_form(coordinator.client, SEARCH, {"email": "not an address"})
    assert bad.status_code == 400 and "Please enter an email address" in bad.text
    assert len(stack.audit("subject.looked_up")) == before
    # Another organisation's coordinator finds nothing of this person.
    outsider = _coordinator(stack, new_organisation(stack))
    assert HOLDS_NOTHING in _look_up(outsider, seeded.email)
    assert seeded.name not in _look_up(outsider, seeded.email)


# Erasure


@pytest.mark.live
def test_D4_erasure_leaves_nothing_but_pseudonymous_audit_and_the_chain_still_verifies(stack):
    seeded = _seed(stack)
    coordinator = _coordinator(stack)
    person = _pseudonym(stack, seeded.email)
    audit_rows = len(
        database.query(
            stack,
            "SELECT id FROM audit_auditevent WHERE subject_ref = ? OR actor_ref = ?",
            person,
            person,
        )
    )
    # The confirm step asks why; without a reason and the tick nothing happens.
    step = post_action(coordinator.client, ERASE, {"email": seeded.email}, page=SEARCH)
    assert step.status_code == 200 and "Why are you erasing" in step.text
    refused = post_action(
        coordinator.client, ERASE, {"email": seeded.email, "confirm_step": "1"}, page=SEARCH
    )
    assert refused.status_code == 400 and "Please say why" in refused.text
    assert "cannot be undone" in refused.text
    assert database.tables_containing(stack, seeded.email) != []
    assert all(json.loads(r["details"])["person"] != person for r in stack.audit("subject.erased"))

    # First erasure: the ban is in force, so it is kept, and the page says why.
    sessions = len(database.query(stack, "SELECT session_key FROM django_session"))
    first = _erase(coordinator, seeded.email)
    # Their two browser sessions (the consent page's and the passcode's) are ended.
    assert len(database.query(stack, "SELECT session_key FROM django_session")) == sessions - 2
    assert "An active ban is kept" in first
    assert database.tables_containing(stack, seeded.email) == ["bans_ban.email"]
    assert database.tables_containing(stack, seeded.name) == []
    assert database.tables_containing(stack, seeded.chat) == []
    for need in seeded.needs:
        assert database.tables_containing(stack, need) == []
    # The other person is untouched.
    assert "invitations_invitation.email" in database.tables_containing(stack, seeded.other_email)
    # Their lines in the kept transcript are replaced; the other person's stay.
    transcript = seeded.meeting.host_client.get(f"/records/{seeded.meeting.id}/transcript.txt").text
    assert seeded.chat not in transcript and seeded.name not in transcript
    assert seeded.other_chat in transcript and "Erased" in transcript

    # Lifting the ban (its own decision, with a reason), then erasing again: nothing left.
    ban = database.query(stack, "SELECT id FROM bans_ban WHERE email = ?", seeded.email)[0]
    lifted = flows.post_form(
        coordinator.client, f"/staff/bans/{ban['id']}/lift/", {"reason": "Erasure request"}
    )
    assert lifted.status_code == 302, lifted.text
    _erase(coordinator, seeded.email)
    for trace in (seeded.email, seeded.name, seeded.chat, *seeded.needs, seeded.removal_reason):
        found = database.tables_containing(stack, trace)
        assert found == [], (trace, found)
    # The host's reason for the ban, and the coordinator's for lifting it, were audit
    # notes outside the chain (D5): erased with the rest, and the chain still verifies.
    assert database.tables_containing(stack, "Erasure request") == []
    # The audit entries stay under the pseudonym, which no longer says who it is.
    assert database.query(stack, "SELECT * FROM audit_auditidentity WHERE ref = ?", person) == []
    kept_rows = database.query(
        stack,
        "SELECT id FROM audit_auditevent WHERE subject_ref = ? OR actor_ref = ?",
        person,
        person,
    )
    assert len(kept_rows) == audit_rows
    assert "The audit log is intact" in stack.manage("verify_audit")
    erased = [json.loads(r["details"]) for r in stack.audit("subject.erased")]
    mine = [e for e in erased if e["person"] == person]
    assert len(mine) == 2 and mine[0]["identity_forgotten"] is True
    assert all(seeded.email not in json.dumps(e) for e in erased)

    # A new request: nothing held, and it says what was kept and why.
    again = _look_up(coordinator, seeded.email)
    assert HOLDS_NOTHING in again and seeded.name not in again
    assert "Audit log entries, under a pseudonym" in again and "append-only" in again
    exported = _export(coordinator, seeded.email)
    assert exported["data"] == {} and exported["transcript_lines"] == []
    # Their entries, and the ban's lifting, which names them by pseudonym only.
    liftings = database.query(
        stack, "SELECT details FROM audit_auditevent WHERE action = 'ban.lifted'"
    )
    lifting = [row for row in liftings if json.loads(row["details"]).get("person") == person]
    assert len(lifting) == 1
    assert exported["kept_on_erasure"][0]["count"] == len(kept_rows) + 1


@pytest.mark.live
def test_D4_erasing_a_parent_who_agreed_for_a_child_keeps_the_childs_invitation_working(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host, f"Family review {secrets.token_hex(3)}")
    child_name = f"Cara C{secrets.token_hex(3)}"
    child = flows.invite(stack, host, meeting_id, child_name, role="child")
    parent_email = database.invitation(stack, child.email)["parent_email"]
    parent_name = f"Parent of {child_name}"
    coordinator = _coordinator(stack)
    exported = _export(coordinator, parent_email)
    assert {"children_invited", "consent_requests", "consents"} <= set(exported["data"])
    assert "invitations" not in exported["data"]  # the child's own invitation is not theirs
    consent = exported["data"]["consents"]["rows"][0]
    assert consent["on_behalf_of_child"] is True and consent["given_by_name"] == parent_name
    _erase(coordinator, parent_email)
    assert database.tables_containing(stack, parent_email) == []
    assert database.tables_containing(stack, parent_name) == []
    row = database.invitation(stack, child.email)
    assert row["name"] == child_name and row["parent_email"] == ""
    (agreed,) = database.consents(stack, child.email)
    assert agreed["given_by_name"] == "Erased" and agreed["voided_at"] is None
    # The child's link and passcode still work.
    flows.enter_passcode(stack, child)


@pytest.mark.live
def test_D4_someone_in_a_meeting_now_is_not_erased_until_they_have_left(stack):
    meeting = start_meeting(stack, "Running now")
    person, _, invited = admitted(stack, meeting, f"Rita R{secrets.token_hex(3)}")
    coordinator = _coordinator(stack)
    response = post_action(
        coordinator.client,
        ERASE,
        {"email": invited.email, "confirm_step": "1", "reason": "Asked", "confirm": "on"},
        page=SEARCH,
    )
    assert response.status_code == 400 and "in a meeting or its waiting room now" in response.text
    assert database.invitation(stack, invited.email)["name"] == invited.name
    assert person.request({"type": "chat", "text": "still here"})["type"] == "chat_sent"


@pytest.mark.live
def test_D4_a_member_of_staff_is_found_and_their_account_kept_with_the_reason(stack):
    member = sign_in_staff(stack, "hoster", "host")
    flows.create_meeting(member.client, "A staff member's meeting")
    coordinator = _coordinator(stack)
    exported = _export(coordinator, member.email)
    assert exported["data"]["staff"]["rows"][0]["email"] == member.email
    assert {"staff_roles", "staff_sessions", "staff_authenticators"} <= set(exported["data"])
    text = json.dumps(exported)
    secrets_held = database.query(
        stack,
        "SELECT u.password, d.key FROM accounts_user u JOIN otp_totp_totpdevice d "
        "ON d.user_id = u.id WHERE u.email = ?",
        member.email,
    )
    assert secrets_held
    for value in secrets_held[0].values():
        assert value not in text
    page = _erase(coordinator, member.email)
    assert "Staff accounts are employment records" in page
    assert database.query(
        stack, "SELECT is_active FROM accounts_user WHERE email = ?", member.email
    ) == [{"is_active": 1}]
    assert database.query(
        stack, "SELECT ref FROM audit_auditidentity WHERE email = ?", member.email
    )


# Who may


@pytest.mark.live
def test_D4_only_coordinators_and_administrators_reach_subject_access_and_after_confirming(stack):
    seeded_email = flows.unique_email("somebody")
    everything = {"email": seeded_email, "confirm_step": "1", "reason": "x", "confirm": "on"}
    for roles in (("host",), ("service_manager",)):
        staff = sign_in_staff(stack, "nope", *roles)
        missing = _normalised(staff.client.get("/no-such-page/").text)
        response = staff.client.get(SEARCH)
        assert response.status_code == 404 and _normalised(response.text) == missing
        assert "/staff/subject-access/" not in staff.client.get("/staff/").text
        for path in (SEARCH, EXPORT, ERASE):
            response = post_action(staff.client, path, everything)
            assert response.status_code == 404, (roles, path)
            assert _normalised(response.text) == missing, (roles, path)
        assert not [
            row
            for row in stack.audit()
            if row["action"].startswith("subject.") and staff.email in (row["actor_label"] or "")
        ]
    for role in ("coordinator", "administrator"):
        staff = sign_in_staff(stack, role, role)
        assert staff.client.get(SEARCH).status_code == 200
        assert HOLDS_NOTHING in _look_up(staff, seeded_email)
        # Sensitive: after a while the password and a code are asked again, for every step.
        age_sessions(stack, staff.email, "reauthenticated_at", dt.timedelta(minutes=6))
        assert staff.client.get(SEARCH).headers["location"].startswith("/accounts/confirm/")
        for path in (SEARCH, EXPORT, ERASE):
            response = post_action(staff.client, path, {"email": seeded_email})
            assert response.headers["location"].startswith("/accounts/confirm/"), path


@pytest.mark.live
def test_D4_look_ups_are_rate_limited_and_the_refusal_is_audited(stack):
    coordinator = _coordinator(stack)
    limit = 60  # HAVEN_SUBJECT_ACCESS_PER_HOUR's default
    token = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', coordinator.client.get(SEARCH).text
    )
    assert token
    for n in range(limit):
        response = coordinator.client.post(
            SEARCH, data={"csrfmiddlewaretoken": token.group(1), "email": f"n{n}@example.org"}
        )
        assert response.status_code == 200, n
    refused = coordinator.client.post(
        SEARCH, data={"csrfmiddlewaretoken": token.group(1), "email": "one-more@example.org"}
    )
    assert refused.status_code == 429 and "Too many look-ups" in refused.text
    assert any(
        coordinator.email in (r["actor_label"] or "") for r in stack.audit("subject.rate_limited")
    )


# The audit log's filters (D5)


def _audit_rows(html: str) -> list[list[str]]:
    rows = re.findall(r'<tr class="audit-row">(.*?)</tr>', html, flags=re.S)
    return [
        [
            re.sub(r"\s+", " ", cell).strip()
            for cell in re.findall(r"<td>(.*?)</td>", row, flags=re.S)
        ]
        for row in rows
    ]


@pytest.mark.live
def test_D5_the_service_manager_filters_the_audit_log_by_meeting_and_by_person(stack):
    meeting_title = f"Filtered {secrets.token_hex(3)}"
    meeting = start_meeting(stack, meeting_title)
    one, _, one_invited = admitted(stack, meeting, f"Una F{secrets.token_hex(3)}")
    two, _, two_invited = admitted(stack, meeting, f"Tom F{secrets.token_hex(3)}")
    elsewhere = start_meeting(stack, f"Elsewhere {secrets.token_hex(3)}")
    admitted(stack, elsewhere, f"Eli F{secrets.token_hex(3)}")
    manager = sign_in_staff(stack, "manager", "service_manager")

    by_meeting = post_action(
        manager.client, "/staff/audit/", {"meeting": meeting.id}, page="/staff/audit/"
    )
    assert by_meeting.status_code == 302
    assert by_meeting.headers["location"] == f"/staff/audit/?meeting={meeting.id}"
    rows = _audit_rows(manager.client.get(by_meeting.headers["location"]).text)
    assert len(rows) >= 6
    assert {row[4] for row in rows} == {meeting_title}
    assert {"room.admitted", "meeting.started"} <= {row[2] for row in rows}

    by_person = post_action(
        manager.client, "/staff/audit/", {"email": one_invited.email}, page="/staff/audit/"
    )
    location = by_person.headers["location"]
    assert by_person.status_code == 302 and one_invited.email not in location
    assert re.fullmatch(r"/staff/audit/\?person=[0-9a-f]{32}", location)
    page = manager.client.get(location).text
    rows = _audit_rows(page)
    assert rows and all(one_invited.name in (row[1] + row[3]) for row in rows)
    assert two_invited.name not in page
    assert {"invitation.created", "consent.given", "room.admitted"} <= {row[2] for row in rows}

    both = post_action(
        manager.client,
        "/staff/audit/",
        {"email": two_invited.email, "meeting": elsewhere.id},
        page="/staff/audit/",
    )
    assert _audit_rows(manager.client.get(both.headers["location"]).text) == []
    # Forged or someone else's filters look missing; bad input is refused.
    other_org = sign_in_staff(stack, "far", "service_manager", organisation=new_organisation(stack))
    assert other_org.client.get(f"/staff/audit/?meeting={meeting.id}").status_code == 404
    assert manager.client.get("/staff/audit/?meeting=not-a-meeting").status_code == 404
    assert manager.client.get("/staff/audit/?person=<script>").status_code == 404
    bad = post_action(manager.client, "/staff/audit/", {"email": "nope"}, page="/staff/audit/")
    assert bad.status_code == 400
    host = flows.sign_in(stack, "host")[0]
    assert host.get(f"/staff/audit/?meeting={meeting.id}").status_code == 404
    one.close()
    two.close()


# In a browser


@pytest.mark.browser
def test_D4_D5_subject_access_and_the_audit_filters_work_by_keyboard_and_are_axe_clean(stack):
    seeded = _seed(stack)
    email = flows.unique_email("browser-coord")
    password = stack.create_staff(email, roles=("coordinator", "service_manager"))
    with chromium(stack, fake_devices=False) as browser:
        page = browser.new_context(viewport={"width": 320, "height": 720}).new_page()
        sign_in_browser(page, stack, email, password, lands_on="Staff")
        page.get_by_role("link", name="What Haven holds about a person").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="What Haven holds about a person")).to_be_visible()
        assert axe_violations(page) == [], "subject access page"
        page.get_by_label("Email address").focus()
        page.keyboard.type(seeded.email)
        page.keyboard.press("Enter")
        expect(
            page.get_by_role("heading", name=f"What Haven holds about {seeded.email}")
        ).to_be_visible()
        expect(page.get_by_text(seeded.chat)).to_be_visible()
        assert axe_violations(page) == [], "subject access result"
        page.get_by_role("button", name="Erase this person's data…").focus()
        page.keyboard.press("Enter")
        expect(
            page.get_by_role("heading", name=f"Erase what Haven holds about {seeded.email}")
        ).to_be_visible()
        assert axe_violations(page) == [], "erase page"
        page.get_by_label("Why are you erasing this person's data?").focus()
        page.keyboard.type("Request received by letter, ref 77")
        page.keyboard.press("Tab")
        page.keyboard.press("Space")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        expect(page.get_by_text("An active ban is kept").first).to_be_visible()
        assert axe_violations(page) == [], "erasure result"

        page.goto(f"{stack.base_url}/staff/audit/")
        assert axe_violations(page) == [], "audit log"
        page.get_by_label("Meeting").select_option(value=seeded.meeting.id)
        page.get_by_label("Meeting").focus()
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        expect(page.locator("#audit-filter")).to_contain_text(seeded.title)
        assert axe_violations(page) == [], "filtered audit log"
