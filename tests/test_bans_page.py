"""The bans page (rule S8, P2): coordinators and administrators lift bans made in meetings;
the service manager reads them; everyone else, and other organisations, see nothing."""

import datetime as dt
import json

import pytest
from playwright.sync_api import expect

from tests.harness import database, flows, totp, ui
from tests.harness.browser import chromium
from tests.harness.staff import (
    age_sessions,
    new_organisation,
    post_action,
    sign_in_browser,
    sign_in_staff,
)
from tests.test_in_meeting_protocol import admitted, start_meeting

pytestmark = pytest.mark.live

MISSING_REASON = "Please say why you are lifting this ban."


def _ban_someone(stack, name: str):
    """A host bans an admitted attendee over the meeting protocol. Returns the meeting,
    the banned person's invitation and the ban's id."""
    meeting = start_meeting(stack, f"Meeting with {name}")
    attendee, pid, invited = admitted(stack, meeting, name)
    meeting.host.send({"type": "ban", "participant": pid, "reason": "Shouted at staff."})
    assert attendee.expect("removed") == {"type": "removed"}
    return meeting, invited, _ban_row(stack, invited.email)["id"]


def _ban_row(stack, email: str) -> dict[str, object]:
    rows = database.query(
        stack, "SELECT * FROM bans_ban WHERE email = ? ORDER BY id DESC", email.lower()
    )
    assert rows, f"no ban for {email}"
    return rows[0]


def _lift_audits(stack, ban_id) -> list[dict[str, object]]:
    return [
        row for row in stack.audit("ban.lifted") if json.loads(row["details"])["ban_id"] == ban_id
    ]


def _invite_again(stack, email: str, meeting_id: str | None = None):
    host_client, _ = flows.sign_in(stack, "newhost")
    meeting_id = meeting_id or flows.create_meeting(host_client, "A later meeting")
    return flows.send_invitation(host_client, meeting_id, name="Bea Banned", email=email)


def test_S8_P2_a_coordinator_lifts_a_ban_after_confirming_and_the_person_can_be_invited(stack):
    meeting, invited, ban_id = _ban_someone(stack, "Bea Banned")
    refused = _invite_again(stack, invited.email)
    assert refused.status_code == 400 and "cannot be invited" in refused.text

    coordinator = sign_in_staff(stack, "coord", "coordinator")
    assert "/staff/bans/" in coordinator.client.get("/staff/").text
    listing = coordinator.client.get("/staff/bans/")
    assert listing.status_code == 200
    in_force = listing.text.split('<h2 id="lifted">')[0]
    assert invited.email in in_force and "Shouted at staff." in in_force
    assert "Meeting with Bea Banned" in in_force
    assert f'href="/staff/bans/{ban_id}/lift/"' in in_force

    # Lifting is sensitive: after a while, the password and a code are asked again.
    age_sessions(stack, coordinator.email, "reauthenticated_at", dt.timedelta(minutes=6))
    lift = f"/staff/bans/{ban_id}/lift/"
    response = coordinator.client.get(lift)
    assert response.status_code == 302
    confirm = response.headers["location"]
    assert confirm == f"/accounts/confirm/?next=%2Fstaff%2Fbans%2F{ban_id}%2Flift%2F"
    stale = post_action(coordinator.client, lift, {"reason": "Too soon"})
    assert stale.headers["location"].startswith("/accounts/confirm/")
    assert _ban_row(stack, invited.email)["lifted_at"] is None
    right = flows.post_form(
        coordinator.client,
        confirm,
        {"password": coordinator.password, "code": totp.fresh_code(coordinator.email)},
    )
    assert right.status_code == 302 and right.headers["location"] == lift

    done = flows.post_form(coordinator.client, lift, {"reason": "Apologised at review."})
    assert done.status_code == 302 and done.headers["location"] == "/staff/bans/"
    row = _ban_row(stack, invited.email)
    assert row["lifted_at"] is not None and row["lift_reason"] == "Apologised at review."
    after = coordinator.client.get("/staff/bans/").text
    assert "is lifted" in after
    lifted = after.split('<h2 id="lifted">')[1]
    assert invited.email in lifted and "Apologised at review." in lifted
    assert f'href="/staff/bans/{ban_id}/lift/"' not in after

    audits = _lift_audits(stack, ban_id)
    assert len(audits) == 1
    assert coordinator.email in str(audits[0]["actor_label"])
    assert "@" not in str(audits[0]["details"])
    reason = json.loads(str(audits[0]["details"]))["reason"]
    assert database.note_text(stack, reason) == "Apologised at review."

    # A second lift is refused and changes nothing.
    again = post_action(coordinator.client, lift, {"reason": "Twice"})
    assert again.status_code == 302
    assert len(_lift_audits(stack, ban_id)) == 1

    # Invited again to a new meeting; the removal from the first meeting stays.
    assert _invite_again(stack, invited.email).status_code == 302
    still_removed = flows.send_invitation(
        meeting.host_client, meeting.id, name="Bea Banned", email=invited.email
    )
    assert still_removed.status_code == 400 and "cannot be invited" in still_removed.text


def test_S8_coordinators_see_bans_due_for_review_keep_one_and_a_lapsed_ban_ends(stack):
    # The host chooses a review date in 10 days; another ban takes the policy's default.
    meeting = start_meeting(stack, "Meeting with review dates")
    soon = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    due, due_pid, due_invited = admitted(stack, meeting, "Dee Due")
    meeting.host.send(
        {"type": "ban", "participant": due_pid, "reason": "Threatened staff.", "review_on": soon}
    )
    assert due.expect("removed") == {"type": "removed"}
    _, later_invited, later_id = _ban_someone(stack, "Lee Later")
    due_ban = _ban_row(stack, due_invited.email)
    assert str(due_ban["review_on"]) == soon
    default = dt.date.today() + dt.timedelta(days=183)
    assert str(_ban_row(stack, later_invited.email)["review_on"]) == default.isoformat()

    coordinator = sign_in_staff(stack, "reviewer", "coordinator")
    listing = coordinator.client.get("/staff/bans/").text
    due_section = listing.split('<h2 id="due-for-review">')[1].split('<h2 id="in-force">')[0]
    assert due_invited.email in due_section and later_invited.email not in due_section
    review = f"/staff/bans/{due_ban['id']}/review/"
    assert f'href="{review}"' in due_section

    # Keeping it needs a date ahead and a reason; then it is no longer due.
    refused = post_action(coordinator.client, review, {"review_on": soon, "reason": ""})
    assert refused.status_code == 400 and "Please say why the ban should stay." in refused.text
    later = (dt.date.today() + dt.timedelta(days=200)).isoformat()
    kept = post_action(coordinator.client, review, {"review_on": later, "reason": "Still a risk"})
    assert kept.status_code == 302, kept.text
    assert str(_ban_row(stack, due_invited.email)["review_on"]) == later
    after = coordinator.client.get("/staff/bans/").text
    due_after = after.split('<h2 id="due-for-review">')[1].split('<h2 id="in-force">')[0]
    assert due_invited.email not in due_after
    assert [r["action"] for r in stack.audit("ban.review_changed")][-1:] == ["ban.review_changed"]

    # A ban whose review date passed ends by itself at the daily job, audited.
    database.execute(
        stack,
        "UPDATE bans_ban SET review_on = ? WHERE id = ?",
        (dt.date.today() - dt.timedelta(days=1)).isoformat(),
        later_id,
    )
    stack.manage("destroy_expired")
    row = _ban_row(stack, later_invited.email)
    assert row["lifted_at"] is not None and row["lapsed"] and row["lifted_by_id"] is None
    lifted = coordinator.client.get("/staff/bans/").text.split('<h2 id="lifted">')[1]
    assert later_invited.email in lifted and "Nobody: it ended by itself" in lifted
    lapsed = [json.loads(r["details"]) for r in stack.audit("ban.lapsed")]
    assert any(d["ban_id"] == later_id for d in lapsed)
    assert _invite_again(stack, later_invited.email).status_code == 302


def test_S8_lifting_without_a_reason_is_refused_clearly_and_changes_nothing(stack):
    _meeting, invited, ban_id = _ban_someone(stack, "Ray Reasonless")
    coordinator = sign_in_staff(stack, "coord", "administrator")
    lift = f"/staff/bans/{ban_id}/lift/"
    for reason in ("", "   "):
        response = flows.post_form(coordinator.client, lift, {"reason": reason})
        assert response.status_code == 400
        assert MISSING_REASON in response.text
    assert _ban_row(stack, invited.email)["lifted_at"] is None
    assert _lift_audits(stack, ban_id) == []
    assert _invite_again(stack, invited.email).status_code == 400


def test_P2_a_missing_ban_or_another_organisations_ban_is_not_found(stack):
    _meeting, invited, ban_id = _ban_someone(stack, "Olly Other")
    outsider = sign_in_staff(stack, "outsider", "coordinator", organisation=new_organisation(stack))
    assert invited.email not in outsider.client.get("/staff/bans/").text
    for path in (f"/staff/bans/{ban_id}/lift/", "/staff/bans/999999999/lift/"):
        assert outsider.client.get(path).status_code == 404, path
        response = post_action(outsider.client, path, {"reason": "Not mine"})
        assert response.status_code == 404, path
    assert _ban_row(stack, invited.email)["lifted_at"] is None
    assert _lift_audits(stack, ban_id) == []


def test_P2_a_host_cannot_see_bans_and_the_service_manager_cannot_lift_them(stack):
    _meeting, invited, ban_id = _ban_someone(stack, "Mo Managed")
    lift = f"/staff/bans/{ban_id}/lift/"
    host = sign_in_staff(stack, "host", "host")
    assert host.client.get("/staff/bans/").status_code == 404
    assert host.client.get(lift).status_code == 404
    manager = sign_in_staff(stack, "manager", "service_manager")
    assert "/staff/bans/" in manager.client.get("/staff/").text
    listing = manager.client.get("/staff/bans/")
    assert listing.status_code == 200 and invited.email in listing.text
    assert "/lift/" not in listing.text
    assert manager.client.get(lift).status_code == 404
    for person in (host, manager):
        assert post_action(person.client, lift, {"reason": "Let them in"}).status_code == 404
    assert _ban_row(stack, invited.email)["lifted_at"] is None
    assert _lift_audits(stack, ban_id) == []


@pytest.mark.browser
def test_S8_the_bans_pages_are_accessible_at_320px_and_work_by_keyboard(stack):
    _meeting, invited, ban_id = _ban_someone(stack, "Kay Keyboard")
    coordinator = sign_in_staff(stack, "keys", "coordinator")
    with chromium(stack, fake_devices=False) as browser:
        page = browser.new_context(viewport={"width": 320, "height": 720}).new_page()
        sign_in_browser(page, stack, coordinator.email, coordinator.password, lands_on="Staff")
        page.goto(f"{stack.base_url}/staff/bans/")
        expect(page.get_by_role("heading", name="Bans in force")).to_be_visible()
        ui.assert_accessible(page, "the bans page")
        ui.assert_fits(page, "the bans page")
        ui.tab_to(page, f'a[href="/staff/bans/{ban_id}/lift/"]')
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name=f"Lift the ban on {invited.email}")).to_be_visible()
        ui.assert_accessible(page, "the lift-a-ban page")
        ui.assert_fits(page, "the lift-a-ban page")
        ui.tab_to(page, "main button[type=submit]")
        page.keyboard.press("Enter")
        expect(page.get_by_text(f"Error: {MISSING_REASON}")).to_be_visible()
        ui.assert_accessible(page, "the lift-a-ban page with an error")
        page.get_by_label("Why are you lifting this ban?").focus()
        page.keyboard.type("Met the family; agreed a fresh start.")
        ui.tab_to(page, "main button[type=submit]")
        page.keyboard.press("Enter")
        expect(page.get_by_text("They can be invited again.")).to_be_visible()
        expect(page.locator("#lifted + .table-wrap")).to_contain_text("agreed a fresh start")
        ui.assert_accessible(page, "the bans page with a lifted ban")
        ui.assert_fits(page, "the bans page with a lifted ban")
