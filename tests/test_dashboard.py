"""The host's dashboard on the staff home page (issue 6, item 3): upcoming and past
meetings, each invitee's consent state and access needs, who is waiting now (S2), and
scheduling from a meeting type with its defaults (P3). Coordinators and the service
manager keep their own start page (P2).
"""

import datetime as dt
import html
import re

import pytest
from playwright.sync_api import expect

from tests.harness import database, flows, ui
from tests.harness.browser import chromium
from tests.harness.staff import post_action, sign_in_staff
from tests.test_in_meeting_protocol import arrive, start_meeting

pytestmark = pytest.mark.live

TYPE_OPTION = re.compile(r'<option value="(\d+)"[^>]*>([^<]+)</option>')


def _types(page: str) -> dict[str, str]:
    """The schedule form's meeting types: name -> id."""
    form = page.split('id="id_meeting_type"', 1)[1].split("</select>", 1)[0]
    return {name: value for value, name in TYPE_OPTION.findall(form)}


def _section(page: str, title: str) -> str:
    """The dashboard's part about one meeting, by its title."""
    start = page.rindex(
        '<section class="dashboard-meeting"', 0, page.index(f">{html.escape(title)}</a></h3>")
    )
    end = page.find('<section class="dashboard-meeting"', start + 1)
    return page[
        start : end if end != -1 else page.index('<h2 id="schedule">Schedule a meeting</h2>')
    ]


def _later(hours: int = 3) -> str:
    return (dt.datetime.now() + dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def test_U2_U3_dashboard_shows_each_invitees_consent_state_and_access_needs(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host, "Review with the Carters")
    other_id = flows.create_meeting(host, "Tribunal preparation", kind="appeal_support")
    # Sam agrees and asks for captions and something shown on screen: link sent.
    sam = flows.unique_email("sam")
    flows.send_invitation(host, meeting_id, name="Sam Carter", email=sam)
    consent = flows.give_consent(
        stack,
        flows.read_consent_link(stack, sam),
        need_captions="on",
        show_on_screen="My letter from the school",
    )
    assert consent.status_code == 302
    # A child whose parent has not answered yet: no link, and the host sees why.
    flows.send_invitation(
        host,
        meeting_id,
        name="Cleo Carter",
        email=flows.unique_email("cleo"),
        role="child",
        parent_name="Pat Carter",
        parent_email=flows.unique_email("pat"),
    )
    # Another host's meeting never shows.
    stranger, _ = flows.sign_in(stack, "stranger")
    flows.create_meeting(stranger, "Somebody else's meeting")

    page = host.get("/staff/")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Your dashboard</h1>" in text
    assert "Somebody else&#x27;s meeting" not in text
    review = _section(text, "Review with the Carters")
    assert "<strong>Sam Carter</strong> (parent or carer)" in review
    assert "Link sent" in review
    assert "Access needs: Captions." in review
    assert "To show on screen: My letter from the school." in review
    assert "<strong>Cleo Carter</strong> (child (under 16))" in review
    assert "Invited: waiting for consent" in review
    assert "Supervising adult: not named yet." in review
    assert "Nobody is waiting." in review
    assert f'href="/meetings/{meeting_id}/"' in review
    tribunal = _section(text, "Tribunal preparation")
    assert "Nobody is invited yet." in tribunal and f'href="/meetings/{other_id}/"' in tribunal
    # Soonest first: both start in five minutes, in the order they were made.
    assert text.index("Review with the Carters") < text.index("Tribunal preparation")


def test_S2_dashboard_shows_who_is_waiting_now_and_not_once_let_in(stack):
    meeting = start_meeting(stack, "Waiting room check")
    _, sam_pid, _, _ = arrive(stack, meeting, "Sam Carter")
    arrive(stack, meeting, "Jo Smith", role="young_person")
    review = _section(meeting.host_client.get("/staff/").text, "Waiting room check")
    assert "<strong>Waiting now: 2</strong>" in review
    names = review.split('<ul class="waiting-names">', 1)[1].split("</ul>", 1)[0]
    assert "Sam Carter (parent or carer), since" in names
    assert "Jo Smith (young person (16 or over)), since" in names
    assert f'href="/room/{meeting.id}/"' in review
    assert "In progress" in review

    meeting.host.send({"type": "admit", "participant": sam_pid})
    meeting.waiting()
    review = _section(meeting.host_client.get("/staff/").text, "Waiting room check")
    assert "<strong>Waiting now: 1</strong>" in review
    names = review.split('<ul class="waiting-names">', 1)[1].split("</ul>", 1)[0]
    assert "Sam Carter" not in names and "Jo Smith" in names


def test_S1_S3_dashboard_flags_a_second_device_and_an_arrival_while_locked(stack):
    meeting = start_meeting(stack, "Flags check")
    meeting.host.send({"type": "lock"})
    meeting.host.expect("lock_changed")
    _, _, _, invited = arrive(stack, meeting, "Lou Late")
    arrive(stack, meeting, "Lou Late", invited=invited)  # the same link again
    review = _section(meeting.host_client.get("/staff/").text, "Flags check")
    assert "<strong>Waiting now: 2</strong>" in review
    assert "In progress</strong>, locked." in review
    assert "Arrived while the meeting was locked" in review
    assert "Second device: their link is already in use" in review


def test_P3_P1_quick_create_schedules_from_a_meeting_type_with_its_defaults(stack):
    host, email = flows.sign_in(stack)
    page = host.get("/staff/").text
    assert '<h2 id="schedule">Schedule a meeting</h2>' in page
    # The one schedule form: type, title, time and length, posted to /meetings/.
    assert 'action="/meetings/"' in page and 'name="duration_minutes"' in page
    assert "<form" not in host.get("/meetings/").text.split("<h1>All your meetings</h1>", 1)[1]
    types = _types(page)
    assert set(types) == {
        "One-to-one meeting",
        "Appeal or tribunal support",
        "Training session",
        "Youth group",
    }
    response = post_action(
        host,
        "/meetings/",
        {
            "meeting_type": types["Training session"],
            "title": "Parents' workshop",
            "starts_at": _later(),
        },
    )
    assert response.status_code == 302
    meeting_id = response.headers["location"].strip("/").split("/")[-1]
    detail = host.get(f"/meetings/{meeting_id}/").text
    assert "Parents&#x27; workshop" in detail and "Training session" in detail
    assert "\u201cParents' workshop\u201d is scheduled" in html.unescape(detail)
    [row] = database.query(
        stack,
        "SELECT m.id, m.duration_minutes, m.state, t.key, t.house_rules, t.house_rules_easy_read,"
        " p.version FROM meetings_meeting m JOIN policy_meetingtype t ON t.id = m.meeting_type_id"
        " JOIN policy_policyversion p ON p.id = m.policy_id WHERE m.public_id = ?",
        meeting_id.replace("-", ""),
    )
    assert row["key"] == "training" and row["state"] == "scheduled"
    assert row["duration_minutes"] == 60 and row["version"] == "V.01"
    [rules] = database.query(
        stack, "SELECT * FROM meetings_houserules WHERE meeting_id = ?", row["id"]
    )
    assert rules["version"] == 1
    assert rules["text"] == row["house_rules"] and rules["created_by_id"] is None
    assert rules["easy_read"] == row["house_rules_easy_read"]
    created = [
        r
        for r in stack.audit("meeting.created")
        if r["meeting_ref"] == meeting_id and email in r["actor_label"]
    ]
    assert len(created) == 1 and '"meeting_type": "training"' in created[0]["details"]
    # It is on the dashboard now, as upcoming.
    assert "Parents&#x27; workshop</a></h3>" in host.get("/staff/").text


def test_P3_quick_create_refuses_bad_input_clearly_and_creates_nothing(stack):
    host, _ = flows.sign_in(stack)
    types = _types(host.get("/staff/").text)
    before = len(stack.audit("meeting.created"))
    for data, error in (
        ({"title": "", "starts_at": _later()}, "This field is required."),
        ({"title": "Old", "starts_at": "2001-01-01T10:00"}, "in the past"),
        ({"title": "When?", "starts_at": "tomorrow"}, "as day/month/year"),
        ({"title": "Line\nbreak", "starts_at": _later()}, "cannot be shown"),
    ):
        data["meeting_type"] = types["Youth group"]
        response = post_action(host, "/meetings/", data)
        assert response.status_code == 400, data
        assert error in html.unescape(response.text), (data, error)
        assert 'class="field field-error"' in response.text
    # A meeting type of another policy version, or none at all: refused too.
    response = post_action(
        host,
        "/meetings/",
        {"title": "X", "starts_at": _later(), "meeting_type": "999999"},
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.text
    assert len(stack.audit("meeting.created")) == before


@pytest.mark.parametrize("role", ["coordinator", "administrator", "service_manager"])
def test_P2_staff_who_do_not_host_keep_their_start_page_and_cannot_schedule(stack, role):
    person = sign_in_staff(stack, role, role)
    page = person.client.get("/staff/")
    assert page.status_code == 200
    assert "<h1>Staff</h1>" in page.text
    assert "Schedule a meeting" not in page.text and "upcoming meetings" not in page.text
    response = post_action(
        person.client,
        "/meetings/",
        {"title": "Sneaky", "starts_at": _later(), "meeting_type": "1"},
    )
    assert response.status_code == 404
    # The start page takes no form at all.
    assert post_action(person.client, "/staff/", {"title": "Sneaky"}).status_code == 405
    if role in ("coordinator", "service_manager"):
        assert 'href="/staff/evidence/"' in page.text
    else:
        assert 'href="/staff/evidence/"' not in page.text


def test_dashboard_past_meetings_link_their_evidence(stack):
    meeting = start_meeting(stack, "Finished review")
    meeting.host.send({"type": "end_meeting", "transcript": "destroy"})
    meeting.host.expect("meeting_ended")
    page = meeting.host_client.get("/staff/").text
    past = page.split("<h2>Your past meetings</h2>", 1)[1]
    assert "Finished review</a>" in past and "(ended)" in past
    assert f'href="/staff/evidence/{meeting.id}/"' in past
    assert "Finished review</a></h3>" not in page  # no longer upcoming


def test_S2_dashboard_is_accessible_by_keyboard_and_fits_a_phone(stack):
    meeting = start_meeting(stack, "Keyboard review")
    arrive(stack, meeting, "Sam Carter")
    flows.send_invitation(
        meeting.host_client, meeting.id, name="Ann Asked", email=flows.unique_email("ann")
    )
    with chromium(stack, fake_devices=False) as browser:
        page = ui.page_with_session(browser, stack, meeting.host_client, ui.PHONE)
        page.goto(f"{stack.base_url}/staff/")
        expect(page.get_by_role("heading", name="Your dashboard")).to_be_visible()
        expect(page.locator(".waiting-now")).to_contain_text("Waiting now: 1")
        ui.assert_accessible(page, "the dashboard at phone width")
        ui.assert_fits(page, "the dashboard")
        wanted, seen = ui.reachable_by_tab(page)
        assert set(wanted) <= set(seen), set(wanted) - set(seen)

        # Schedule by keyboard only: the type, the title, the time, then Enter.
        page.get_by_label("Type of meeting").focus()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Tab")
        expect(page.get_by_label("Title")).to_be_focused()
        page.keyboard.type("Keyboard made")
        page.keyboard.press("Enter")  # nothing of the time yet: an error, and nothing made
        expect(page.locator(".error-summary, .field-error").first).to_be_visible()
        ui.assert_accessible(page, "the dashboard with errors")
        page.get_by_label("Date and start time").fill(_later())
        page.get_by_label("Title").press("Enter")
        expect(page.get_by_role("heading", name="Keyboard made")).to_be_visible()
        expect(page.locator("main")).to_contain_text("Appeal or tribunal support")


def test_S2_the_dashboard_shows_who_arrives_and_who_is_let_in_without_a_reload(stack):
    meeting = start_meeting(stack, "Live waiting check")
    with chromium(stack, fake_devices=False) as browser:
        page = ui.page_with_session(browser, stack, meeting.host_client)
        page.goto(f"{stack.base_url}/staff/")
        part = page.locator(f'[data-waiting-for="{meeting.id}"]')
        expect(part).to_have_text("Nobody is waiting.")
        page.evaluate("() => { window.notReloaded = true; }")
        _, sam_pid, _, _ = arrive(stack, meeting, "Sam Carter")
        expect(part).to_contain_text("Waiting now: 1", timeout=15_000)
        expect(part).to_contain_text("Sam Carter (parent or carer), since")
        expect(page.locator("#dashboard-announcer")).to_have_text(
            "Live waiting check: Waiting now: 1."
        )
        ui.assert_accessible(page, "the dashboard after someone arrived")
        meeting.host.send({"type": "admit", "participant": sam_pid})
        expect(part).to_have_text("Nobody is waiting.", timeout=15_000)
        assert page.evaluate("() => window.notReloaded === true")
