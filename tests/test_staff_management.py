"""Staff management by coordinators and administrators: invite by email, set-up links,
job titles (shown to attendees, U1), roles, deactivation (ASVS 7.4.2). All audited."""

import base64
import datetime as dt
import json
import re

import pytest

from tests.harness import database, flows, totp
from tests.harness.staff import (
    found,
    new_organisation,
    post_action,
    sign_in_staff,
    staff_row,
    staff_session_count,
)

pytestmark = pytest.mark.live

SETUP_LINK = re.compile(r"(http://localhost:\d+/accounts/set-up/[A-Za-z0-9_-]+/)")


def _invite(coordinator, stack, roles=("host",), name="Robin Newman"):
    email = flows.unique_email("newstaff")
    data = {"full_name": name, "email": email, "job_title": "Family Support Worker"}
    data = {**data, "roles": list(roles), "csrfmiddlewaretoken": _token(coordinator)}
    response = coordinator.client.post("/staff/people/invite/", data=data)
    assert response.status_code == 302, response.text
    mail = stack.mail_to(email, "Set up your Haven staff account")
    link = found(SETUP_LINK, mail.get_body(("plain",)).get_content())
    return email, link.split(str(stack.port), 1)[1]


def _token(staff) -> str:
    return found(flows.CSRF, staff.client.get("/accounts/").text)


def _enrol(stack, client) -> None:
    page = client.get("/accounts/two-factor/set-up/").text
    secret = found(r'id="totp-secret">([A-Z2-7 ]+)<', page).replace(" ", "")
    secret_hex = base64.b32decode(secret + "=" * (-len(secret) % 8)).hex()
    code = totp.code_at(secret_hex, totp.current_step())
    done = flows.post_form(client, "/accounts/two-factor/set-up/", {"code": code})
    assert "Your recovery codes" in done.text


def test_an_invited_person_sets_up_their_account_through_a_one_time_link(stack):
    coordinator = sign_in_staff(stack, "coord", "coordinator")
    email, path = _invite(coordinator, stack, roles=("host", "service_manager"))
    assert str(staff_row(stack, email)["password"]).startswith("!")  # no password until set up
    newcomer = stack.http()
    # Bad input first: weak and mismatched passwords, each with its own error.
    weak = flows.post_form(
        newcomer, path, {"new_password1": "password1234", "new_password2": "password1234"}
    )
    assert weak.status_code == 200 and "This password is too common." in weak.text
    breached = flows.post_form(
        newcomer, path, {"new_password1": "football1234", "new_password2": "football1234"}
    )
    assert "leaked in data breaches" in breached.text
    mismatch = flows.post_form(
        newcomer,
        path,
        {"new_password1": "quiet orange kettle harbour", "new_password2": "something else"},
    )
    assert "The two password fields didn" in mismatch.text
    chosen = "quiet orange kettle harbour"
    done = flows.post_form(newcomer, path, {"new_password1": chosen, "new_password2": chosen})
    assert done.headers["location"] == "/accounts/two-factor/set-up/"
    _enrol(stack, newcomer)
    assert newcomer.get("/meetings/").status_code == 200  # the host role
    assert newcomer.get("/staff/audit/").status_code == 200  # the service manager role
    # The link works once.
    again = stack.http().get(path)
    assert again.status_code == 404 and "This set-up link does not work" in again.text
    invited = [json.loads(r["details"]) for r in stack.audit("staff.invited")]
    assert any(sorted(d["roles"]) == ["host", "service_manager"] for d in invited)
    assert [r for r in stack.audit("staff.password_set") if email in r["actor_label"]]
    # Their later sign-ins need the password and their new authenticator.
    later = stack.http()
    step = flows.post_form(later, "/accounts/login/", {"username": email, "password": chosen})
    assert step.headers["location"] == "/accounts/two-factor/"


def test_an_expired_or_replaced_set_up_link_does_not_work(stack):
    coordinator = sign_in_staff(stack, "coord", "coordinator")
    email, first = _invite(coordinator, stack)
    member_id = staff_row(stack, email)["id"]
    response = post_action(coordinator.client, f"/staff/people/{member_id}/setup-link/")
    assert response.status_code == 302
    assert stack.http().get(first).status_code == 404  # replaced by the new one
    mails = [m for m in stack.all_mail() if email in m["To"]]
    assert len(mails) == 2
    links = {found(SETUP_LINK, m.get_body(("plain",)).get_content()) for m in mails}
    second = (links - {f"{stack.base_url}{first}"}).pop().split(str(stack.port), 1)[1]
    assert stack.http().get(second).status_code == 200
    database.execute(
        stack,
        "UPDATE accounts_staffsetuplink SET expires_at = ? WHERE user_id = ?",
        (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat(" "),
        member_id,
    )
    assert stack.http().get(second).status_code == 404


def test_U1_a_new_job_title_is_what_attendees_see(stack):
    coordinator = sign_in_staff(stack, "coord", "coordinator")
    host = sign_in_staff(stack, "host", "host")
    meeting_id = flows.create_meeting(host.client)
    invited = flows.invite(stack, host.client, meeting_id)
    attendee = flows.enter_passcode(stack, invited)
    host_id = staff_row(stack, host.email)["id"]
    changed = flows.post_form(
        coordinator.client,
        f"/staff/people/{host_id}/change/",
        {"job_title": "Senior Information Officer", "roles": "host"},
    )
    assert changed.status_code == 302
    assert "Senior Information Officer" in attendee.get(f"/room/{meeting_id}/").text
    row = stack.audit("staff.changed")[-1]
    details = json.loads(row["details"])
    assert details["before"]["job_title"] == "IASS Officer"
    assert details["after"]["job_title"] == "Senior Information Officer"


def test_deactivating_someone_ends_their_sessions_at_once(stack):
    coordinator = sign_in_staff(stack, "coord", "coordinator")
    host = sign_in_staff(stack, "host", "host")
    laptop = stack.http()
    flows.sign_in_with(laptop, host.email, host.password)
    meeting_id = flows.create_meeting(host.client)
    assert staff_session_count(stack, host.email) == 2
    host_id = staff_row(stack, host.email)["id"]
    response = post_action(coordinator.client, f"/staff/people/{host_id}/deactivate/")
    assert response.status_code == 302
    assert staff_session_count(stack, host.email) == 0
    for client in (host.client, laptop):
        assert client.get("/meetings/").status_code == 302
        assert client.get(f"/room/{meeting_id}/").status_code == 404
    again = flows.post_form(
        stack.http(), "/accounts/login/", {"username": host.email, "password": host.password}
    )
    assert again.status_code == 200 and "not right" in again.text
    row = [r for r in stack.audit("staff.deactivated") if f'"staff_id": {host_id}' in r["details"]]
    assert json.loads(row[0]["details"])["sessions_ended"] == 2
    # Reactivated, they can sign in again (with both factors).
    post_action(coordinator.client, f"/staff/people/{host_id}/reactivate/")
    flows.sign_in_with(stack.http(), host.email, host.password)


def test_nobody_can_remove_the_last_way_to_manage_staff_or_deactivate_themself(stack):
    org = new_organisation(stack)
    coordinator = sign_in_staff(stack, "only", "coordinator", organisation=org)
    own_id = staff_row(stack, coordinator.email)["id"]
    refused = post_action(coordinator.client, f"/staff/people/{own_id}/deactivate/")
    assert refused.status_code == 302
    assert (
        "You cannot deactivate your own account."
        in coordinator.client.get(f"/staff/people/{own_id}/").text
    )
    demoted = flows.post_form(
        coordinator.client,
        f"/staff/people/{own_id}/change/",
        {"job_title": "Coordinator", "roles": "host"},
    )
    assert demoted.status_code == 200
    assert "keep at least one active digital coordinator or administrator" in demoted.text
    no_roles = flows.post_form(
        coordinator.client, f"/staff/people/{own_id}/change/", {"job_title": "Coordinator"}
    )
    assert "Choose at least one role." in no_roles.text
    assert staff_row(stack, coordinator.email)["is_active"]
    assert coordinator.client.get("/staff/people/invite/").status_code == 200


def test_an_invitation_for_an_existing_account_is_refused(stack):
    coordinator = sign_in_staff(stack, "coord", "coordinator")
    response = flows.post_form(
        coordinator.client,
        "/staff/people/invite/",
        {
            "full_name": "Twice",
            "email": coordinator.email.upper(),
            "job_title": "Officer",
            "roles": "host",
        },
    )
    assert response.status_code == 200
    assert "There is already a staff account with this email." in response.text
