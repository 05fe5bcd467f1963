"""Staff single sign-on with OpenID Connect (issue 16), against a real OpenID provider.

The provider is django-oauth-toolkit in its OpenID Connect mode (tests/oidc_provider/),
a process of its own on loopback in the stack's namespace, signing RS256 ID tokens with
a key it made at start. Haven reaches it only over HTTP, as it would Microsoft Entra ID.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.harness import database, flows, totp
from tests.harness.flows import Socket
from tests.harness.oidc import (
    ORGANISATION,
    Provider,
    authorize,
    sso_sign_in,
    stack_with_provider,
    start_sign_in,
)
from tests.harness.stack import Stack

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def sso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Provider]]:
    folder: Path = tmp_path_factory.mktemp("sso")
    with stack_with_provider(folder) as running:
        yield running


def _staff(stack: Stack, who: str, *roles: str) -> str:
    """A Haven staff account (with an authenticator) that may be linked once by email."""
    email = flows.unique_email(who)
    stack.create_staff(email, roles=roles or ("host",))
    stack.manage("single_sign_on", f"--organisation={ORGANISATION}", f"--allow-link={email}")
    return email


def _signed_in(stack: Stack, client) -> bool:
    return client.get("/staff/").status_code == 200


def _audit_details(stack: Stack, action: str) -> list[dict[str, object]]:
    import json

    return [json.loads(row["details"]) for row in stack.audit(action)]


def test_sign_in_with_pkce_state_and_nonce_and_the_providers_mfa(sso):
    stack, provider = sso
    email = _staff(stack, "sso-mfa")
    subject = provider.person(email, amr=["pwd", "mfa"])
    haven = stack.http()
    location = start_sign_in(haven)
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(f"{provider.issuer}/authorize/")
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0]
    back = authorize(provider, location, email)
    answer = haven.get(flows.path_of(stack, back))
    assert answer.status_code == 302 and answer.headers["location"] == "/staff/"
    assert _signed_in(stack, haven)
    link = database.query(
        stack, "SELECT issuer, subject FROM accounts_providerlink WHERE subject = ?", subject
    )
    assert link == [{"issuer": provider.issuer, "subject": subject}]
    signed_in = _audit_details(stack, "staff.signed_in")[-1]
    assert signed_in["via"] == "single_sign_on" and signed_in["two_factors"] == "provider"


def _no_error_in_log(stack: Stack) -> None:
    text = stack.log.read_text()
    assert '"level": "ERROR"' not in text and "Traceback" not in text, text[-3000:]
    assert '"level": "CRITICAL"' not in text


def _refused(stack: Stack, client, response, reason: str, words: str) -> None:
    """A refused sign-in: a plain page saying why, an audit row, nobody signed in."""
    assert response.status_code in (400, 403, 503), response.text
    assert words in response.text
    assert "You are not signed in" in response.text
    assert _audit_details(stack, "staff.single_sign_on_refused")[-1] == {"reason": reason}
    assert not _signed_in(stack, client)
    _no_error_in_log(stack)


def test_without_the_mfa_claim_haven_asks_for_its_own_code(sso):
    stack, provider = sso
    email = _staff(stack, "sso-nomfa")
    provider.person(email, amr=["pwd"])
    haven, answer = sso_sign_in(stack, provider, email)
    assert answer.status_code == 302 and answer.headers["location"] == "/accounts/two-factor/"
    assert not _signed_in(stack, haven), "the provider's one factor is not enough"
    done = flows.post_form(haven, "/accounts/two-factor/", {"code": totp.fresh_code(email)})
    assert done.status_code == 302 and _signed_in(stack, haven)
    signed_in = _audit_details(stack, "staff.signed_in")[-1]
    assert signed_in["via"] == "single_sign_on" and signed_in["two_factors"] == "haven"
    assert signed_in["second_factor"] == "TOTPDevice"


def test_an_acr_the_organisation_names_counts_as_two_factors_and_others_do_not(sso):
    stack, provider = sso
    stack.manage("single_sign_on", f"--organisation={ORGANISATION}", "--mfa-acr=urn:test:mfa")
    try:
        email = _staff(stack, "sso-acr")
        provider.person(email, amr=["pwd"], acr="urn:test:mfa")
        haven, answer = sso_sign_in(stack, provider, email)
        assert answer.headers["location"] == "/staff/" and _signed_in(stack, haven)
        assert _audit_details(stack, "staff.signed_in")[-1]["two_factors"] == "provider"
        provider.person(email, acr="urn:test:one-factor")
        haven, answer = sso_sign_in(stack, provider, email)
        assert answer.headers["location"] == "/accounts/two-factor/"
        assert not _signed_in(stack, haven)
    finally:
        stack.manage("single_sign_on", f"--organisation={ORGANISATION}", "--mfa-acr=")


def test_P2_a_provider_account_with_no_link_is_refused_even_with_a_staff_email(sso):
    # The provider's email claim alone never links (its users may be able to change it).
    stack, provider = sso
    email = flows.unique_email("sso-unlinked")
    stack.create_staff(email)
    provider.person(email, amr=["mfa"])
    haven, answer = sso_sign_in(stack, provider, email)
    _refused(stack, haven, answer, "not_linked", "not linked to a Haven staff account")
    stranger = flows.unique_email("sso-stranger")
    provider.person(stranger, amr=["mfa"])
    haven, answer = sso_sign_in(stack, provider, stranger)
    _refused(stack, haven, answer, "not_linked", "not linked to a Haven staff account")
    assert not database.query(stack, "SELECT id FROM accounts_user WHERE email = ?", stranger)


def test_P2_the_link_is_the_subject_id_not_the_email(sso):
    stack, provider = sso
    email = _staff(stack, "sso-subject")
    provider.person(email, amr=["mfa"])
    haven, answer = sso_sign_in(stack, provider, email)
    assert _signed_in(stack, haven)
    # Another provider account claiming the same address later is not let in.
    impostor = f"other-{email}"
    provider.person(impostor, email=email, amr=["mfa"])
    other, answer = sso_sign_in(stack, provider, impostor)
    _refused(stack, other, answer, "not_linked", "not linked")
    # The linked person still signs in after their address changes at the provider.
    provider.person(email, email=f"renamed-{email}")
    again, answer = sso_sign_in(stack, provider, email)
    assert answer.headers["location"] == "/staff/" and _signed_in(stack, again)


def test_P2_an_account_made_at_first_sign_in_has_no_role(sso):
    stack, provider = sso
    stack.manage("single_sign_on", f"--organisation={ORGANISATION}", "--create-accounts=on")
    try:
        email = flows.unique_email("sso-new")
        provider.person(email, amr=["mfa"], first_name="Sam", last_name="Lee")
        haven, answer = sso_sign_in(stack, provider, email)
        assert answer.headers["location"] == "/staff/" and _signed_in(stack, haven)
        (user,) = database.query(
            stack, "SELECT id, full_name, password FROM accounts_user WHERE email = ?", email
        )
        assert user["full_name"] == "Sam Lee" and user["password"].startswith("!")
        grants = "SELECT role FROM accounts_rolegrant WHERE user_id = ?"
        assert database.query(stack, grants, user["id"]) == []
        assert haven.get("/meetings/").status_code == 404, "no role: no meetings (P2)"
        assert haven.get("/staff/people/").status_code == 404
    finally:
        stack.manage("single_sign_on", f"--organisation={ORGANISATION}", "--create-accounts=off")


def test_P2_roles_follow_the_organisations_role_claim(sso):
    stack, provider = sso
    mapping = '{"Haven.Hosts": "host", "Haven.Coordinators": "coordinator"}'
    stack.manage(
        "single_sign_on",
        f"--organisation={ORGANISATION}",
        "--roles-claim=roles",
        f"--role-map={mapping}",
    )
    try:
        email = _staff(stack, "sso-roles", "host")
        provider.person(email, amr=["mfa"], roles=["Haven.Coordinators", "Unrelated"])
        haven, _ = sso_sign_in(stack, provider, email)
        (user,) = database.query(stack, "SELECT id FROM accounts_user WHERE email = ?", email)
        grants = "SELECT role FROM accounts_rolegrant WHERE user_id = ? ORDER BY role"
        assert database.query(stack, grants, user["id"]) == [{"role": "coordinator"}]
        assert haven.get("/staff/people/").status_code == 200
        assert haven.get("/meetings/").status_code == 404
        changed = _audit_details(stack, "staff.roles_from_provider")[-1]
        assert changed["before"] == ["host"] and changed["after"] == ["coordinator"]
        provider.person(email, roles=[])
        haven, _ = sso_sign_in(stack, provider, email)
        assert database.query(stack, grants, user["id"]) == []
        assert haven.get("/staff/people/").status_code == 404
    finally:
        stack.manage(
            "single_sign_on", f"--organisation={ORGANISATION}", "--roles-claim=", "--role-map={}"
        )


def test_U1_a_host_disabled_at_the_provider_is_signed_out_and_leaves_the_meeting(sso):
    stack, provider = sso
    email = _staff(stack, "sso-leaver")
    provider.person(email, amr=["mfa"])
    haven, _ = sso_sign_in(stack, provider, email)
    meeting_id = flows.create_meeting(haven)
    socket = Socket(stack, haven, meeting_id)
    flows.join(socket)
    (user,) = database.query(stack, "SELECT id FROM accounts_user WHERE email = ?", email)
    # Still allowed: the re-checks (every 3 seconds here) ask the provider and keep the
    # host in, each with the new refresh token the provider rotated to.
    checked = "SELECT checked_at FROM accounts_providersession p JOIN accounts_staffsession s"
    checked += " ON s.id = p.staff_session_id WHERE s.user_id = ?"
    first = database.query(stack, checked, user["id"])
    time.sleep(8)
    assert _signed_in(stack, haven)
    assert database.query(stack, checked, user["id"]) != first, "re-checked"
    ended_rows = _audit_details(stack, "staff.signed_out_by_provider")
    assert all(row["staff_id"] != user["id"] for row in ended_rows)
    provider.person(email, is_active=False)
    assert socket.expect("error", timeout=20)["code"] == "signed_out"
    with pytest.raises(Exception, match="4000"):
        socket.receive()
    with pytest.raises(Exception, match="403"):
        Socket(stack, haven, meeting_id)
    assert not _signed_in(stack, haven)
    ended = _audit_details(stack, "staff.signed_out_by_provider")[-1]
    assert ended == {"staff_id": user["id"], "why": "refused", "ended": 1}
    _no_error_in_log(stack)


def test_a_wrong_state_is_refused(sso):
    stack, provider = sso
    email = _staff(stack, "sso-state")
    provider.person(email, amr=["mfa"])
    haven = stack.http()
    back = authorize(provider, start_sign_in(haven), email)
    forged = back.replace("state=", "state=x")
    answer = haven.get(flows.path_of(stack, forged))
    _refused(stack, haven, answer, "state", "did not start in this browser")
    # A callback in a browser that never started a sign-in: the same.
    stranger = stack.http()
    answer = stranger.get(flows.path_of(stack, back))
    _refused(stack, stranger, answer, "state", "did not start in this browser")
    # And the refusal ended what the first browser had started: its real answer fails too.
    answer = haven.get(flows.path_of(stack, back))
    _refused(stack, haven, answer, "state", "did not start in this browser")


def test_a_replayed_code_is_refused(sso):
    stack, provider = sso
    email = _staff(stack, "sso-replay")
    provider.person(email, amr=["mfa"])
    haven = stack.http()
    back = authorize(provider, start_sign_in(haven), email)
    assert haven.get(flows.path_of(stack, back)).headers["location"] == "/staff/"
    # Someone with the old code (from a log, a shared screen) and a sign-in of their own.
    attacker = stack.http()
    new_state = parse_qs(urlsplit(start_sign_in(attacker)).query)["state"][0]
    code = parse_qs(urlsplit(back).query)["code"][0]
    answer = attacker.get(f"/accounts/single-sign-on/callback/?code={code}&state={new_state}")
    _refused(stack, attacker, answer, "code", "may have been used already")
    # The same callback again in the first browser: its state was used up.
    answer = haven.get(flows.path_of(stack, back))
    assert answer.status_code == 400 and "did not start in this browser" in answer.text


@pytest.mark.parametrize(
    ("fault", "why"),
    [({"audience": "some-other-service"}, "another audience"), ({"expired": True}, "expired")],
)
def test_an_id_token_for_another_audience_or_expired_is_refused(sso, fault, why):
    stack, provider = sso
    email = _staff(stack, "sso-token")
    provider.person(email, amr=["mfa"])
    provider.control("faults", **fault)
    try:
        haven, answer = sso_sign_in(stack, provider, email)
    finally:
        provider.control("faults", audience="", expired=False)
    _refused(stack, haven, answer, "token", "could not be trusted")
    assert not database.query(
        stack,
        "SELECT l.id FROM accounts_providerlink l JOIN accounts_user u ON u.id = l.user_id"
        " WHERE u.email = ?",
        email,
    ), f"a token for {why} linked nothing"


def test_a_provider_that_is_down_is_a_clear_page(sso):
    stack, provider = sso
    email = _staff(stack, "sso-down")
    provider.person(email, amr=["mfa"])
    haven = stack.http()
    back = authorize(provider, start_sign_in(haven), email)
    provider.stop()
    try:
        answer = haven.get(flows.path_of(stack, back))
        _refused(stack, haven, answer, "provider_down", "did not answer")
    finally:
        provider.start()
    haven, answer = sso_sign_in(stack, provider, email)
    assert answer.headers["location"] == "/staff/" and _signed_in(stack, haven)


def test_an_organisation_that_requires_single_sign_on_refuses_local_passwords(sso):
    stack, _provider = sso
    email = flows.unique_email("sso-required")
    password = stack.create_staff(email)
    stack.manage("single_sign_on", f"--organisation={ORGANISATION}", "--required=on")
    try:
        haven = stack.http()
        response = flows.post_form(
            haven, "/accounts/login/", {"username": email, "password": password}
        )
        assert response.status_code == 403
        assert "signs in to Haven with its own accounts" in response.text
        assert not _signed_in(stack, haven)
        assert haven.get("/accounts/two-factor/").headers["location"] == "/accounts/login/"
        assert _audit_details(stack, "staff.password_refused")[-1] == {
            "why": "single_sign_on_required"
        }
        # A wrong password says only that, as ever (nothing learnt about the account).
        response = flows.post_form(
            haven, "/accounts/login/", {"username": email, "password": "wrong password 1"}
        )
        assert "email address or password is not right" in response.text
    finally:
        stack.manage("single_sign_on", f"--organisation={ORGANISATION}", "--required=off")
    # Other organisations (and this one, once it stops requiring it) keep local passwords.
    flows.sign_in_with(stack.http(), email, password)


@pytest.mark.browser
def test_the_sign_in_button_and_the_problem_page_in_a_browser(sso):
    from playwright.sync_api import expect

    from tests.harness.browser import axe_violations, chromium

    stack, provider = sso
    email = _staff(stack, "sso-browser")
    provider.person(email, amr=["pwd", "mfa"])
    with chromium(stack, fake_devices=False) as browser:
        page = browser.new_page(viewport={"width": 320, "height": 640})
        page.goto(f"{stack.base_url}/accounts/login/")
        button = page.get_by_role("link", name="Sign in with your organisation account")
        expect(button).to_be_visible()
        assert axe_violations(page) == [], "axe-core violations on the sign-in page"
        button.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Test organisation sign-in")).to_be_visible()
        page.get_by_label("Username").fill(email)
        page.get_by_label("Password").fill("provider password for tests 7")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Your dashboard")).to_be_visible()
        # A callback this browser did not start: the problem page, plain and axe-clean.
        page.goto(f"{stack.base_url}/accounts/single-sign-on/callback/?code=x&state=forged")
        expect(page.get_by_role("heading", name="You are not signed in")).to_be_visible()
        expect(page.locator("#sign-in-problem")).to_contain_text("did not start in this browser")
        assert axe_violations(page) == [], "axe-core violations on the problem page"
        link = page.get_by_role("link", name="Go to the sign-in page")
        expect(link).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 320


def test_a_sensitive_action_is_confirmed_at_the_provider(sso):
    stack, provider = sso
    email = _staff(stack, "sso-confirm", "coordinator")
    provider.person(email, amr=["pwd", "mfa"])
    haven, _ = sso_sign_in(stack, provider, email)
    (user,) = database.query(stack, "SELECT id FROM accounts_user WHERE email = ?", email)
    reauthenticated = "SELECT reauthenticated_at FROM accounts_staffsession WHERE user_id = ?"
    before = database.query(stack, reauthenticated, user["id"])
    page = haven.get("/accounts/confirm/?next=/staff/people/")
    assert "Confirm with your organisation account" in page.text
    location = haven.get("/accounts/single-sign-on/?confirm=1&next=/staff/people/")
    query = parse_qs(urlsplit(location.headers["location"]).query)
    assert query["prompt"] == ["login"] and query["max_age"] == ["0"]
    # The provider asks again (prompt=login), then sends the person back.
    back = authorize(provider, location.headers["location"], email)
    answer = haven.get(flows.path_of(stack, back))
    assert answer.status_code == 302 and answer.headers["location"] == "/staff/people/"
    assert database.query(stack, reauthenticated, user["id"]) != before
    assert _audit_details(stack, "staff.reauthenticated")[-1] == {"via": "single_sign_on"}
    # Without the provider's two factors the confirmation is refused.
    provider.person(email, amr=["pwd"])
    location = haven.get("/accounts/single-sign-on/?confirm=1&next=/staff/people/")
    back = authorize(provider, location.headers["location"], email)
    answer = haven.get(flows.path_of(stack, back))
    assert answer.status_code == 403 and "did not confirm that it is you" in answer.text
