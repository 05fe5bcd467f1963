"""Someone with the same name as a member of staff, or as another person in the meeting
(issue 13, item 5; rule U1): the host is warned at invitation, and in the room the host
alone has the Staff mark while people who share a name are told apart."""

import html

import pytest
from playwright.sync_api import expect

from tests.harness import flows, ui
from tests.harness.browser import chromium

pytestmark = pytest.mark.live

HOST_NAME = "Alex Morgan"  # every test host's name (tests/harness/stack.py)


def test_U1_inviting_someone_with_a_staff_members_name_needs_the_host_to_say_so(stack):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    address = flows.unique_email("namesake")
    refused = flows.send_invitation(host, meeting_id, name=" alex  MORGAN ", email=address)
    assert refused.status_code == 400
    shown = html.unescape(refused.text)
    assert "alex MORGAN is also the name of a member of staff" in shown
    assert "This is a different person who has the same name as a member of staff" in shown
    assert flows.mails_to(stack, address, "") == []
    sent = flows.send_invitation(
        host, meeting_id, name="Alex Morgan", email=address, different_person=True
    )
    assert sent.status_code == 302
    # Nobody else is asked: an ordinary name has no box to tick.
    page = host.get(f"/meetings/{meeting_id}/").text
    assert 'name="different_person"' not in page


def test_U1_in_the_room_only_the_host_is_staff_and_people_with_one_name_are_told_apart(stack):
    meeting = ui.new_meeting(stack)
    namesake = flows.invite(stack, meeting.host, meeting.id, HOST_NAME, different_person=True)
    with chromium(stack) as browser:
        host = ui.host_joins(browser, stack, meeting)
        sam = ui.attendee_waits(browser, stack, meeting, "Sam Carter")
        ui.let_in(host, sam)
        other_sam = ui.attendee_waits(browser, stack, meeting, "Sam Carter")
        ui.let_in(host, other_sam)
        client = flows.enter_passcode(stack, namesake)
        alex = ui.Attendee(ui.page_with_session(browser, stack, client), namesake, client)
        alex.page.goto(meeting.url(stack))
        ui.join(alex.page)
        ui.wait_for_state(alex.page, "waiting")
        ui.let_in(host, alex)

        page = sam.page
        rows = page.locator("#roster-list > li")
        expect(rows).to_have_count(4)
        names = [
            " ".join(t.split()) for t in page.locator("#roster-list .person-name").all_inner_texts()
        ]
        assert sorted(names) == sorted(
            ["Alex Morgan", "Alex Morgan (2)", "Sam Carter (1) (you)", "Sam Carter (2)"]
        ) or sorted(names) == sorted(
            ["Alex Morgan", "Alex Morgan (2)", "Sam Carter (2) (you)", "Sam Carter (1)"]
        ), names
        # Only the real host carries the Staff mark.
        staff_rows = rows.filter(has=page.locator(".badge-staff"))
        expect(staff_rows).to_have_count(1)
        expect(staff_rows.locator(".person-name")).to_have_text("Alex Morgan")
        # The host's own actions name people as shown, so the right Sam is removed.
        expect(host.get_by_role("button", name="Remove Sam Carter (2)")).to_have_count(1)
        ui.assert_accessible(page, "the roster with two people of one name")
