"""A meeting's compliance evidence page (issue 6, item 7): each policy rule that applied,
with the evidence from the audit log and Haven's records, missing evidence said plainly,
printable, for the meeting's host, coordinators and the service manager only (P2).
"""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.harness import database, flows, ui
from tests.harness.browser import chromium
from tests.harness.staff import new_organisation, sign_in_staff
from tests.test_in_meeting_protocol import admitted, start_meeting

pytestmark = pytest.mark.live

HOST = "Alex Morgan"  # every test member of staff's name (stack.create_staff)
LONDON = ZoneInfo("Europe/London")
CSRF_VALUE = re.compile(r'value="[A-Za-z0-9]{64}"')


def _shown(at: str) -> str:
    """An audit time as the page shows it (the server's time zone, to the second)."""
    moment = dt.datetime.fromisoformat(at).replace(tzinfo=dt.UTC).astimezone(LONDON)
    return moment.strftime("%-d %b %Y, %H:%M:%S")


def _at(stack, meeting_id: str, action: str, index: int = 0) -> str:
    return _shown(ui.audit_about(stack, action, meeting_id)[index]["at"])


def meeting_policy_review(stack) -> str:
    """The review date label of the policy in force, and "overdue" when it has passed."""
    [row] = database.query(
        stack,
        "SELECT review_date, review_date_label FROM policy_policyversion"
        " WHERE version = 'V.01' ORDER BY id LIMIT 1",
    )
    overdue = dt.date.fromisoformat(str(row["review_date"])) < dt.date.today()
    return f"{row['review_date_label']}, overdue" if overdue else str(row["review_date_label"])


def _facts(page: Page, section: str) -> list[str]:
    return [
        " ".join(t.split())
        # Their text, folded or not (innerText is empty while a <details> is closed).
        for t in page.locator(f"#{section} .evidence-facts li").all_text_contents()
    ]


def _warnings(page: Page) -> list[str]:
    return [" ".join(t.split()) for t in page.locator("#evidence-warnings li").all_inner_texts()]


def _retain_until(stack, meeting_id: str) -> str:
    [row] = database.query(
        stack,
        "SELECT t.retain_until FROM records_transcript t JOIN meetings_meeting m"
        " ON m.id = t.meeting_id WHERE m.public_id = ?",
        meeting_id.replace("-", ""),
    )
    return dt.date.fromisoformat(row["retain_until"]).strftime("%-d %b %Y")


def test_P1_G1_U3_S2_S3_S5_S6_S7_S8_S9_evidence_of_a_meeting_run_in_the_browser(stack):
    meeting = ui.new_meeting(stack)
    # A child whose parent consents (and never joins), and someone who never answers.
    flows.invite(stack, meeting.host, meeting.id, "Cleo Carter", role="child")
    flows.send_invitation(
        meeting.host, meeting.id, name="Nina Noreply", email=flows.unique_email("nina")
    )
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        sam = ui.attendee_waits(browser, stack, meeting, "Sam Carter")
        ui.let_in(host, sam)
        lock = host.locator("#lock-button")
        lock.click()
        expect(lock).to_have_text("Unlock the meeting")
        jo = ui.attendee_waits(browser, stack, meeting, "Jo Smith")
        expect(host.locator("#lock-attempt")).to_contain_text("Jo Smith tried to join")
        lock.click()
        expect(lock).to_have_text("Lock the meeting")
        ui.let_in(host, jo)
        ui.send_chat(sam.page, "Thank you for the letter")
        ui.wait_for_chat(host, "Thank you for the letter")
        ui.remove(host, sam, "Shared the link on social media.", ban=False)
        ui.remove(host, jo, "Abusive to others.", ban=True)
        host.locator("#end-meeting").click()
        keep = host.get_by_label("Keep the chat transcript (encrypted, for the retention period)")
        expect(keep).to_be_checked()
        host.locator("#end-confirm-yes").click()
        ui.wait_for_state(host, "ended")

        page = ui.page_with_session(browser, stack, meeting.host)
        page.goto(f"{stack.base_url}/staff/evidence/{meeting.id}/")
        expect(page.get_by_role("heading", name="Compliance evidence")).to_be_visible()
        m = meeting.id
        # P1: the version in force, and the audit row of the meeting's creation.
        expect(page.locator("#evidence-policy-version")).to_have_text("V.01")
        created = f"{_at(stack, m, 'meeting.created')} {HOST} created the meeting"
        assert f"{created} under policy version V.01." in _facts(page, "policy")
        # G1, U3: each consent; the child's is from the parent, naming the supervising adult.
        consents = " ".join(_facts(page, "consent"))
        assert (
            "Parent of Cleo Carter, their parent or carer, for Cleo Carter (child (under 16))"
            in consents
        )
        assert "Supervising adult: Parent of Cleo Carter." in consents
        assert (
            "Sam Carter for themself (parent or carer) agreed to house rules version 1" in consents
        )
        assert "Jo Smith for themself" in consents
        # Missing evidence is said plainly, and only what is missing.
        assert _warnings(page) == [
            "No consent on record for Nina Noreply (parent or carer). (G1, U2, U3, U4, U5)"
        ]
        expect(page.locator("#consent .evidence-warning")).to_have_text(
            "Missing evidence: No consent on record for Nina Noreply (parent or carer)."
        )
        # The summary first: one line per rule group, met or missing (issue 13, item 12).
        rows = page.locator("#evidence-summary tbody tr")
        assert rows.count() == page.locator(".evidence-section").count()
        summary = {
            " ".join(t.split()) for t in rows.all_inner_texts() if "Missing evidence (1)" in t
        }
        assert len(summary) == 1 and next(iter(summary)).startswith("G1, U2, U3, U4, U5")
        assert " ".join(rows.first.inner_text().split()).endswith("Met")
        # The policy's review date, and whether it has passed.
        expect(page.locator("#evidence-policy-review")).to_contain_text(
            meeting_policy_review(stack)
        )
        # The audit entries are folded under each rule until opened; the page stays short.
        facts = page.locator("#waiting-room .evidence-facts")
        expect(facts).to_be_hidden()
        page.locator("#waiting-room summary").click()
        expect(facts).to_be_visible()
        page.locator("#waiting-room summary").click()
        # S2: everyone came through the waiting room; who let them in, and when.
        waiting = _facts(page, "waiting-room")
        for index, name in enumerate(("Sam Carter", "Jo Smith")):
            entered = _at(stack, m, "room.entered_waiting_room", index)
            assert f"{entered} {name} entered the waiting room." in waiting
            let_in = _at(stack, m, "room.admitted", index)
            assert f"{let_in} {HOST} let {name} in from the waiting room." in waiting
        assert waiting.index(
            f"{_at(stack, m, 'room.admitted', 0)} {HOST} let Sam Carter in from the waiting room."
        ) < waiting.index(
            f"{_at(stack, m, 'room.entered_waiting_room', 1)} Jo Smith entered the waiting room."
        )
        # S3: lock and unlock times, and the arrival held meanwhile.
        assert _facts(page, "lock") == [
            f"{_at(stack, m, 'meeting.locked')} {HOST} locked the meeting.",
            f"{_at(stack, m, 'room.arrived_while_locked')} Jo Smith arrived while the meeting "
            "was locked and was held.",
            f"{_at(stack, m, 'meeting.unlocked')} {HOST} unlocked the meeting.",
        ]
        # S8: removals and bans with their reasons; the ban still in force.
        assert _facts(page, "removals") == [
            f"{_at(stack, m, 'room.removed')} {HOST} removed Sam Carter. "
            "Reason: Shared the link on social media.",
            f"{_at(stack, m, 'room.banned')} {HOST} banned Jo Smith from every meeting of the "
            "organisation. Reason: Abusive to others.",
        ]
        expect(page.locator("#removals")).to_contain_text("Jo Smith's ban is still in force.")
        # S5, S7: impossible by construction, with what makes it so.
        expect(page.locator("#chat")).to_contain_text("it has no recipient field")
        expect(page.locator("#recording")).to_contain_text("record: false, lock_record: true")
        # S6: the transcript kept, until when, by whom.
        retain = _retain_until(stack, m)
        expect(page.locator("#transcript")).to_contain_text(
            f"The transcript (1 message) is kept, encrypted, until {retain}, then destroyed "
            "automatically."
        )
        kept = f"{_at(stack, m, 'transcript.kept')} {HOST} kept the transcript"
        assert f"{kept}, encrypted, until {retain}." in _facts(page, "transcript")
        # S9 and D5.
        assert (
            f"{_at(stack, m, 'room.confirmed_private_place', 1)} Sam Carter confirmed they "
            "could not be overheard or overlooked." in _facts(page, "private-place")
        )
        expect(page.locator("#audit-log")).to_contain_text("none was changed, deleted or inserted")
        ui.assert_accessible(page, "the compliance evidence page")

        # Keyboard: every link reached by Tab; the first one goes to the evidence.
        wanted, seen = ui.reachable_by_tab(page)
        assert set(wanted) <= set(seen), set(wanted) - set(seen)
        page.get_by_role("link", name="Go to the evidence, rule by rule").focus()
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"#evidence-sections$"))

        # Printed: no navigation or screen-only hints; every warning and rule stays.
        page.emulate_media(media="print")
        expect(page.locator(".site-header nav")).to_be_hidden()
        expect(page.locator(".no-print").first).to_be_hidden()
        expect(page.locator("#evidence-warnings")).to_be_visible()
        expect(page.locator("#recording .evidence-rules")).to_be_visible()
        expect(page.locator("#waiting-room .evidence-facts")).to_be_visible()  # unfolded
        page.emulate_media(media="screen")

        phone = ui.page_with_session(browser, stack, meeting.host, ui.PHONE)
        phone.goto(f"{stack.base_url}/staff/evidence/{meeting.id}/")
        ui.assert_accessible(phone, "the compliance evidence page at phone width")
        ui.assert_fits(phone, "the compliance evidence page")

    # No inline style or script (strict CSP), and a print stylesheet of its own.
    response = meeting.host.get(f"/staff/evidence/{meeting.id}/")
    assert " style=" not in response.text and "<style" not in response.text
    assert "<script" not in response.text
    assert 'href="/static/haven/css/print.css" media="print"' in response.text
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    # Each viewing is audited.
    viewed = ui.audit_about(stack, "evidence.viewed", meeting.id)
    assert len(viewed) == 3 and all(meeting.host_email in row["actor_label"] for row in viewed)


def _normalised(text: str) -> str:
    return CSRF_VALUE.sub('value=""', text)


def test_P2_evidence_is_for_the_meetings_host_coordinators_and_the_service_manager(stack):
    meeting = start_meeting(stack, "Evidence permissions")
    path = f"/staff/evidence/{meeting.id}/"
    other_host, _ = flows.sign_in(stack, "otherhost")
    allowed = {
        "host": meeting.host_client,
        "coordinator": sign_in_staff(stack, "coord", "coordinator").client,
        "service_manager": sign_in_staff(stack, "manager", "service_manager").client,
    }
    outsider_org = new_organisation(stack)
    refused = {
        "another host": other_host,
        "administrator": sign_in_staff(stack, "admin", "administrator").client,
        "a coordinator elsewhere": sign_in_staff(
            stack, "elsewhere", "coordinator", organisation=outsider_org
        ).client,
        "nobody signed in": stack.http(),
    }
    for who, client in allowed.items():
        response = client.get(path)
        assert response.status_code == 200, who
        assert "Evidence permissions" in response.text, who
    for who, client in refused.items():
        response = client.get(path)
        if who == "nobody signed in":
            assert (
                response.status_code == 302 and "/accounts/login/" in response.headers["location"]
            )
            continue
        assert response.status_code == 404, who
        missing = client.get("/no-such-page/")
        assert _normalised(response.text) == _normalised(missing.text), who
    # The index of every meeting: for coordinators and the service manager of the organisation.
    assert "Evidence permissions" in allowed["coordinator"].get("/staff/evidence/").text
    assert f'href="{path}"' in allowed["service_manager"].get("/staff/evidence/").text
    elsewhere = refused["a coordinator elsewhere"].get("/staff/evidence/")
    assert elsewhere.status_code == 200 and "Evidence permissions" not in elsewhere.text
    assert meeting.host_client.get("/staff/evidence/").status_code == 404
    # Each view is audited, by whom; refused views show nothing and record no view.
    viewed = ui.audit_about(stack, "evidence.viewed", meeting.id)
    assert len(viewed) == 3
    assert {row["actor_kind"] for row in viewed} == {"staff"}
    # The host finds the page from the meeting's page.
    assert f'href="{path}"' in meeting.host_client.get(f"/meetings/{meeting.id}/").text


def test_evidence_of_a_meeting_not_yet_held_says_what_has_not_happened(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host, "Not yet held")
    text = host.get(f"/staff/evidence/{meeting_id}/").text
    assert "Nobody was invited to this meeting." in text
    assert "Nobody entered the meeting." in text
    assert "The meeting was never locked." in text
    assert "Nobody was removed or banned." in text
    assert "The meeting has not ended: its chat is not a transcript yet." in text
    assert 'id="evidence-complete"' in text and 'id="evidence-warnings"' not in text
    cancelled_id = flows.create_meeting(host, "Called off")
    assert flows.post_form(host, f"/meetings/{cancelled_id}/cancel/", {}).status_code == 302
    text = host.get(f"/staff/evidence/{cancelled_id}/").text
    assert "The meeting was cancelled: there was no chat to keep." in text
    assert "<dt>Cancelled</dt>" in text and 'id="evidence-warnings"' not in text


def test_S6_evidence_says_when_and_by_whom_the_transcript_was_destroyed(stack):
    meeting = start_meeting(stack, "Destroyed transcript")
    meeting.host.send({"type": "end_meeting", "transcript": "destroy"})
    meeting.host.expect("meeting_ended")
    text = meeting.host_client.get(f"/staff/evidence/{meeting.id}/").text
    destroyed = _at(stack, meeting.id, "transcript.destroyed")
    assert (
        f"The transcript (0 messages) was destroyed on {destroyed} by {HOST}: "
        "the host chose to destroy it."
    ) in text
    assert (
        f"{destroyed}</time> {HOST} destroyed the transcript: the host chose to destroy it." in text
    )
    assert "kept, encrypted, until" not in text
    assert "Nobody but the host entered the meeting." in text


def test_U3_S2_evidence_warns_plainly_when_a_childs_consent_is_not_on_record(stack):
    meeting = start_meeting(stack, "Consent gaps")
    admitted(stack, meeting, "Cleo Carter", role="child")
    # The record no longer shows a parent's consent given before the child came in.
    an_hour_on = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    changed = database.execute(
        stack,
        "UPDATE consent_consent SET on_behalf_of_child = FALSE, supervising_adult = '',"
        " given_at = ? WHERE invitation_id IN (SELECT i.id"
        " FROM invitations_invitation i JOIN meetings_meeting m ON m.id = i.meeting_id"
        " WHERE m.public_id = ?)",
        an_hour_on.strftime("%Y-%m-%d %H:%M:%S.%f"),
        meeting.id.replace("-", ""),
    )
    assert changed == 1
    [participant] = database.query(
        stack,
        "SELECT p.admitted_at FROM room_participant p JOIN meetings_meeting m"
        " ON m.id = p.meeting_id WHERE m.public_id = ? AND p.invitation_id IS NOT NULL",
        meeting.id.replace("-", ""),
    )
    entered = _shown(participant["admitted_at"])
    text = meeting.host_client.get(f"/staff/evidence/{meeting.id}/").text
    warnings = text.split('id="evidence-warnings"', 1)[1].split("</div>", 1)[0]
    for warning in (
        "No consent from a parent or carer on record for Cleo Carter, a child under 16.",
        "No supervising adult on record for Cleo Carter.",
        f"Cleo Carter entered the meeting at {entered} with no consent on record given "
        "before then.",
    ):
        assert warning in warnings, warning
        assert f"<strong>Missing evidence:</strong> {warning}" in text
    assert "Missing evidence (3)" in text
    assert 'id="evidence-complete"' not in text
