"""Staff sign-in (ASVS 6, 7): two factors on every staff page, lockout, timeouts, sign-out."""

import base64
import datetime as dt
import json
import re
import time

import pytest

from tests.harness import flows, totp
from tests.harness.stack import StackError
from tests.harness.staff import age_sessions, found, post_action, sign_in_staff, staff_session_count

pytestmark = pytest.mark.live

STAFF_PAGES = [
    "/staff/",
    "/staff/people/",
    "/staff/people/invite/",
    "/staff/audit/",
    "/staff/policy/",
    "/staff/policy/drafts/new/",
    "/meetings/",
    "/accounts/",
    "/accounts/confirm/",
]


def _password_only(stack, roles=("host", "coordinator", "service_manager")):
    """A member of staff who has given the right password but no code yet."""
    email = flows.unique_email("halfway")
    password = stack.create_staff(email, roles=roles)
    client = stack.http()
    response = flows.post_form(
        client, "/accounts/login/", {"username": email, "password": password}
    )
    assert response.headers["location"] == "/accounts/two-factor/"
    return client, email, password


def test_two_factor_is_required_on_every_staff_page(stack):
    client, _, _ = _password_only(stack)
    owner = sign_in_staff(stack, "owner", "host", "coordinator")
    meeting_id = flows.create_meeting(owner.client)
    for path in [*STAFF_PAGES, f"/meetings/{meeting_id}/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["location"].startswith("/accounts/login/"), path
    # The room of a meeting is not open to a half-signed-in host either.
    assert client.get(f"/room/{meeting_id}/").status_code == 404
    # Nor is Django's admin.
    assert client.get("/admin/").headers["location"].startswith("/accounts/login/")


def test_every_staff_page_opens_after_both_factors(stack):
    person = sign_in_staff(stack, "both", "host", "coordinator", "service_manager")
    for path in STAFF_PAGES:
        response = person.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    assert [row for row in stack.audit("staff.signed_in") if person.email in row["actor_label"]]


def test_the_email_address_is_the_same_account_in_any_case_and_with_spaces(stack):
    email = flows.unique_email("Casey")
    password = stack.create_staff(email, roles=("host",))
    client = stack.http()
    typed = f"  {email.upper()} "
    response = flows.post_form(
        client, "/accounts/login/", {"username": typed, "password": password}
    )
    assert response.headers["location"] == "/accounts/two-factor/"


def test_a_wrong_code_is_refused_and_a_used_code_cannot_be_used_again(stack):
    client, email, password = _password_only(stack)
    wrong = flows.post_form(client, "/accounts/two-factor/", {"code": "000000"})
    assert wrong.status_code == 200
    assert "That code is not right, or it has been used already" in wrong.text
    assert client.get("/staff/").status_code == 302  # still not signed in
    time.sleep(1.1)  # each wrong code makes the next try wait a little longer
    code = totp.fresh_code(email)
    assert flows.post_form(client, "/accounts/two-factor/", {"code": code}).status_code == 302
    assert client.get("/accounts/").status_code == 200
    # Someone who watched the code being typed tries it in another browser: refused.
    thief = stack.http()
    flows.post_form(thief, "/accounts/login/", {"username": email, "password": password})
    reused = flows.post_form(thief, "/accounts/two-factor/", {"code": totp.used_code(email)})
    assert reused.status_code == 200
    assert "has been used already" in reused.text
    assert thief.get("/accounts/").status_code == 302


def test_a_right_code_too_soon_after_a_wrong_one_says_how_long_to_wait(stack):
    client, email, _ = _password_only(stack)
    flows.post_form(client, "/accounts/two-factor/", {"code": "000000"})
    too_soon = flows.post_form(client, "/accounts/two-factor/", {"code": totp.fresh_code(email)})
    assert too_soon.status_code == 200
    assert "Wait 1 second, then type it again." in too_soon.text
    assert "That code is not right" not in too_soon.text
    time.sleep(1.1)
    code = totp.fresh_code(email)
    assert flows.post_form(client, "/accounts/two-factor/", {"code": code}).status_code == 302


def test_the_second_step_cannot_be_skipped_or_done_without_the_first(stack):
    stranger = stack.http()
    response = stranger.get("/accounts/two-factor/")
    assert response.status_code == 302
    assert response.headers["location"] == "/accounts/login/"


def test_a_recovery_code_signs_in_once(stack):
    person = sign_in_staff(stack, "recovery", "host")
    response = post_action(person.client, "/accounts/recovery-codes/")
    assert response.status_code == 200
    codes = re.findall(r"<li>([a-z0-9]{8,})</li>", response.text)
    assert len(codes) == 10
    for attempt, expected in ((1, 302), (2, 200)):
        client = stack.http()
        flows.post_form(
            client, "/accounts/login/", {"username": person.email, "password": person.password}
        )
        result = flows.post_form(client, "/accounts/two-factor/", {"code": codes[0]})
        assert result.status_code == expected, attempt


def test_signing_in_is_locked_after_five_wrong_passwords(stack):
    email = flows.unique_email("guessed")
    password = stack.create_staff(email)
    client = stack.http()
    for attempt in range(1, 6):
        wrong = flows.post_form(
            client, "/accounts/login/", {"username": email, "password": "not the password!"}
        )
        if attempt < 5:
            assert wrong.status_code == 200
            assert "The email address or password is not right." in wrong.text
    assert wrong.status_code == 429  # the fifth wrong password pauses the account
    locked = flows.post_form(client, "/accounts/login/", {"username": email, "password": password})
    assert locked.status_code == 429
    assert "Signing in is paused" in locked.text
    assert client.get("/accounts/").status_code == 302
    # Another account is not affected, even from the same address.
    flows.sign_in(stack, "unaffected")


def test_wrong_codes_count_towards_the_lockout(stack):
    client, email, password = _password_only(stack)
    responses = []
    for _ in range(5):
        time.sleep(0.05)
        responses.append(flows.post_form(client, "/accounts/two-factor/", {"code": "123456"}))
        time.sleep(2 ** min(len(responses) - 1, 4) + 0.1)  # django-otp's growing wait
    assert responses[-1].status_code == 429
    again = stack.http()
    locked = flows.post_form(again, "/accounts/login/", {"username": email, "password": password})
    assert locked.status_code == 429


def test_a_session_idle_for_30_minutes_is_signed_out(stack):
    person = sign_in_staff(stack, "idle", "host")
    age_sessions(stack, person.email, "last_seen_at", dt.timedelta(minutes=29))
    assert person.client.get("/accounts/").status_code == 200  # 29 minutes: still fine
    age_sessions(stack, person.email, "last_seen_at", dt.timedelta(minutes=31))
    response = person.client.get("/accounts/")
    assert response.status_code == 302
    assert response.headers["location"] == "/accounts/login/"
    page = person.client.get("/accounts/login/")
    assert "nothing happened for 30 minutes" in page.text
    assert staff_session_count(stack, person.email) == 0


def test_a_session_ends_12_hours_after_signing_in_however_busy(stack):
    person = sign_in_staff(stack, "busy", "host")
    age_sessions(stack, person.email, "signed_in_at", dt.timedelta(hours=12, minutes=1))
    response = person.client.get("/meetings/")
    assert response.status_code == 302
    assert "more than 12 hours ago" in person.client.get("/accounts/login/").text
    assert staff_session_count(stack, person.email) == 0


def test_signing_out_ends_the_session_for_good(stack):
    person = sign_in_staff(stack, "leaving", "host")
    cookies = dict(person.client.cookies)
    response = post_action(person.client, "/accounts/logout/")
    assert response.status_code == 302
    replay = stack.http()
    replay.cookies.update(cookies)
    assert replay.get("/accounts/").status_code == 302
    assert staff_session_count(stack, person.email) == 0


def test_sign_out_everywhere_ends_every_session_of_that_person(stack):
    person = sign_in_staff(stack, "everywhere", "host")
    laptop = stack.http()
    flows.sign_in_with(laptop, person.email, person.password)
    other = sign_in_staff(stack, "bystander", "host")
    assert staff_session_count(stack, person.email) == 2
    response = post_action(person.client, "/accounts/sign-out-everywhere/")
    assert response.status_code == 302
    assert person.client.get("/accounts/").status_code == 302
    assert laptop.get("/accounts/").status_code == 302
    assert other.client.get("/accounts/").status_code == 200
    assert staff_session_count(stack, person.email) == 0
    rows = stack.audit("staff.signed_out_everywhere")
    assert json.loads(rows[-1]["details"])["sessions_ended"] == 2


def test_sensitive_actions_ask_for_the_password_and_a_code_again(stack):
    person = sign_in_staff(stack, "recheck", "coordinator")
    assert person.client.get("/staff/people/invite/").status_code == 200  # just signed in
    age_sessions(stack, person.email, "reauthenticated_at", dt.timedelta(minutes=6))
    response = person.client.get("/staff/people/invite/")
    assert response.status_code == 302
    assert response.headers["location"] == "/accounts/confirm/?next=%2Fstaff%2Fpeople%2Finvite%2F"
    confirm = response.headers["location"]
    wrong = flows.post_form(
        person.client, confirm, {"password": "wrong password here", "code": "000000"}
    )
    assert wrong.status_code == 200 and "That password is not right." in wrong.text
    right = flows.post_form(
        person.client,
        confirm,
        {"password": person.password, "code": totp.fresh_code(person.email)},
    )
    assert right.status_code == 302
    assert right.headers["location"] == "/staff/people/invite/"
    assert person.client.get("/staff/people/invite/").status_code == 200
    assert [r for r in stack.audit("staff.reauthenticated") if person.email in r["actor_label"]]


def test_a_stale_post_to_a_sensitive_action_changes_nothing(stack):
    person = sign_in_staff(stack, "stale", "coordinator")
    form = person.client.get("/staff/people/invite/").text
    token = found(flows.CSRF, form)
    age_sessions(stack, person.email, "reauthenticated_at", dt.timedelta(minutes=6))
    newcomer = flows.unique_email("newcomer")
    response = person.client.post(
        "/staff/people/invite/",
        data={
            "csrfmiddlewaretoken": token,
            "full_name": "New Person",
            "email": newcomer,
            "job_title": "Officer",
            "roles": "host",
        },
    )
    assert response.headers["location"].startswith("/accounts/confirm/")
    assert not [m for m in stack.all_mail() if newcomer in m["To"]]


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short pass", "at least 12 characters"),
        ("password1234", "too common"),
        ("football1234", "leaked in data breaches"),
        ("aaaaaaaaaaaaaaaa", "too easy to guess"),
    ],
)
def test_weak_passwords_are_refused(stack, password, reason):
    with pytest.raises(StackError) as refused:
        stack.manage(
            "create_staff",
            "--organisation=sendiass-leicester",
            f"--email={flows.unique_email('weak')}",
            "--name=Weak Password",
            "--job-title=Officer",
            extra_env={"HAVEN_NEW_STAFF_PASSWORD": password},
        )
    assert reason in str(refused.value)


def test_first_sign_in_walks_through_setting_up_the_authenticator(stack):
    email = flows.unique_email("newstarter")
    password = stack.create_staff(email, totp=False)
    client = stack.http()
    response = flows.post_form(
        client, "/accounts/login/", {"username": email, "password": password}
    )
    assert response.headers["location"] == "/accounts/two-factor/set-up/"
    page = client.get("/accounts/two-factor/set-up/")
    secret = found(r'id="totp-secret">([A-Z2-7 ]+)<', page.text).replace(" ", "")
    qr = client.get("/accounts/two-factor/set-up/qr.svg")
    assert qr.headers["content-type"] == "image/svg+xml"
    assert qr.text.startswith("<svg") and "<script" not in qr.text
    assert client.get("/accounts/").status_code == 302  # not signed in yet
    wrong = flows.post_form(client, "/accounts/two-factor/set-up/", {"code": "000000"})
    assert "That code is not right" in wrong.text
    time.sleep(1.1)
    secret_hex = base64.b32decode(secret + "=" * (-len(secret) % 8)).hex()
    code = totp.code_at(secret_hex, totp.current_step())
    done = flows.post_form(client, "/accounts/two-factor/set-up/", {"code": code})
    assert done.status_code == 200
    assert "Your recovery codes" in done.text
    assert len(re.findall(r"<li>([a-z0-9]{8,})</li>", done.text)) == 10
    assert client.get("/meetings/").status_code == 200
    # The secret is no longer shown to anyone, this person included.
    assert client.get("/accounts/two-factor/set-up/qr.svg").status_code == 404
    assert stack.audit("staff.two_factor_enrolled")


def test_django_admin_is_for_superusers_only(stack):
    for roles in (("host",), ("coordinator",), ("administrator",), ("service_manager",)):
        person = sign_in_staff(stack, "not-super", *roles)
        assert person.client.get("/admin/").status_code == 404, roles
        assert person.client.get("/admin/accounts/user/").status_code == 404, roles
    anonymous = stack.http().get("/admin/")
    assert anonymous.headers["location"].startswith("/accounts/login/")
