"""Single sign-on (issue 16): Haven's own views and re-check, in the test process, against
the real OpenID provider (tests/oidc_provider/) started on this machine's loopback.

The same provider as in tests/test_single_sign_on.py, without the live stack: Django's
test client drives Haven's views and middleware, and Haven talks to the provider over
real HTTP (discovery, the token endpoint, the JWKS). The live tests add what needs the
running server: the re-check on its schedule, the meeting socket closed, the browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.accounts import oidc
from haven.accounts.actions import create_staff_account
from haven.accounts.models import ProviderLink, ProviderSession, StaffSession, User
from haven.audit.models import AuditEvent
from haven.policy.models import Organisation
from tests.harness import flows, totp
from tests.harness.oidc import CLIENT_ID, ORGANISATION, Provider, authorize, provider_on_loopback

CALLBACK = "http://testserver/accounts/single-sign-on/callback/"
PASSWORD = "a long local password 123"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    folder: Path = tmp_path_factory.mktemp("idp")
    with provider_on_loopback(folder) as running:
        running.control(
            "client",
            client_id=CLIENT_ID,
            client_secret=running.client_secret,
            redirect_uri=CALLBACK,
        )
        yield running


@pytest.fixture(autouse=True)
def sso_settings(settings, provider, transactional_db) -> Iterator[None]:
    settings.HAVEN_OIDC_ISSUER = provider.issuer
    settings.HAVEN_OIDC_CLIENT_ID = settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.HAVEN_OIDC_CLIENT_SECRET = provider.client_secret
    settings.OIDC_RP_CLIENT_SECRET = provider.client_secret
    settings.HAVEN_OIDC_ORGANISATION = ORGANISATION
    oidc._endpoints = None
    call_command("load_policy", verbosity=0)
    yield
    oidc._endpoints = None
    provider.control("faults", audience="", expired=False)


def _staff(email: str, *roles: str, allow_link: bool = True) -> User:
    organisation = Organisation.objects.get(slug=ORGANISATION)
    user = create_staff_account(
        organisation,
        email=email,
        full_name="Alex Morgan",
        job_title="IASS Officer",
        password=PASSWORD,
        roles=roles or ("host",),
    )
    TOTPDevice.objects.create(
        user=user, name="Authenticator app", confirmed=True, key=totp.secret_for(email)
    )
    if allow_link:
        call_command("single_sign_on", f"--organisation={ORGANISATION}", f"--allow-link={email}")
    return user


def _sso(client: Client, provider: Provider, username: str, start: str = "") -> Any:
    started = client.get(start or "/accounts/single-sign-on/")
    assert started.status_code == 302
    back = urlsplit(authorize(provider, started["location"], username))
    return client.get(f"{back.path}?{back.query}")


def _details(action: str) -> list[dict[str, object]]:
    return [event.details for event in AuditEvent.objects.filter(action=action).order_by("id")]


def _signed_in(client: Client) -> bool:
    return client.get("/staff/").status_code == 200


def _refused(client: Client, response, reason: str, words: str) -> None:
    assert words in response.content.decode()
    assert _details("staff.single_sign_on_refused")[-1] == {"reason": reason}
    assert not _signed_in(client)


def test_the_providers_mfa_signs_in_and_keeps_a_refresh_token(client, provider):
    user = _staff(flows.unique_email("v-mfa"))
    subject = provider.person(user.email, amr=["pwd", "mfa"])
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with your organisation account" in page
    answer = _sso(client, provider, user.email)
    assert answer["location"] == "/staff/" and _signed_in(client)
    link = ProviderLink.objects.get(user=user)
    assert (link.issuer, link.subject) == (provider.issuer, subject)
    held = ProviderSession.objects.get(staff_session__user=user)
    assert held.refresh_token and held.link == link
    assert _details("staff.signed_in")[-1] == {
        "second_factor": "ProviderLink",
        "via": "single_sign_on",
        "two_factors": "provider",
    }


def test_without_mfa_havens_code_is_asked_and_the_session_still_rechecked(client, provider):
    user = _staff(flows.unique_email("v-nomfa"))
    provider.person(user.email, amr=["pwd"])
    answer = _sso(client, provider, user.email)
    assert answer["location"] == "/accounts/two-factor/" and not _signed_in(client)
    done = flows_post(client, "/accounts/two-factor/", {"code": totp.fresh_code(user.email)})
    assert done.status_code == 302 and _signed_in(client)
    assert ProviderSession.objects.filter(staff_session__user=user).count() == 1
    assert _details("staff.signed_in")[-1]["two_factors"] == "haven"


def flows_post(client: Client, url: str, data: dict[str, str]):
    token = flows.CSRF.search(client.get(url).content.decode())
    assert token
    return client.post(url, {"csrfmiddlewaretoken": token.group(1), **data})


def test_an_acr_named_by_the_organisation_counts_as_two_factors(client, provider):
    call_command("single_sign_on", f"--organisation={ORGANISATION}", "--mfa-acr=urn:test:mfa")
    user = _staff(flows.unique_email("v-acr"))
    provider.person(user.email, amr=["pwd"], acr="urn:test:mfa")
    assert _sso(client, provider, user.email)["location"] == "/staff/"
    provider.person(user.email, acr="urn:test:other")
    assert _sso(Client(), provider, user.email)["location"] == "/accounts/two-factor/"


def test_P2_an_email_alone_never_links_and_a_link_is_the_subject(client, provider):
    unlinked = _staff(flows.unique_email("v-unlinked"), allow_link=False)
    provider.person(unlinked.email, amr=["mfa"])
    answer = _sso(client, provider, unlinked.email)
    assert answer.status_code == 403
    _refused(client, answer, "not_linked", "not linked to a Haven staff account")
    linked = _staff(flows.unique_email("v-linked"))
    provider.person(linked.email, amr=["mfa"])
    assert _sso(Client(), provider, linked.email)["location"] == "/staff/"
    impostor = Client()
    provider.person(f"other-{linked.email}", email=linked.email, amr=["mfa"])
    answer = _sso(impostor, provider, f"other-{linked.email}")
    _refused(impostor, answer, "not_linked", "not linked")
    provider.person(linked.email, email=f"renamed-{linked.email}")
    assert _sso(Client(), provider, linked.email)["location"] == "/staff/"


def test_P2_an_account_made_at_first_sign_in_has_no_role(client, provider):
    call_command("single_sign_on", f"--organisation={ORGANISATION}", "--create-accounts=on")
    email = flows.unique_email("v-new")
    provider.person(email, amr=["mfa"], first_name="Sam", last_name="Lee")
    assert _sso(client, provider, email)["location"] == "/staff/"
    user = User.objects.get(email=email)
    assert user.full_name == "Sam Lee" and not user.has_usable_password()
    assert user.role_names == frozenset()
    assert client.get("/meetings/").status_code == 404
    assert client.get("/staff/people/").status_code == 404
    assert _details("staff.created_by_provider")[-1] == {"roles": []}


def test_P2_roles_follow_the_role_claim(client, provider):
    mapping = '{"Haven.Hosts": "host", "Haven.Coordinators": "coordinator"}'
    call_command(
        "single_sign_on",
        f"--organisation={ORGANISATION}",
        "--roles-claim=roles",
        f"--role-map={mapping}",
    )
    user = _staff(flows.unique_email("v-roles"), "host")
    provider.person(user.email, amr=["mfa"], roles=["Haven.Coordinators", "Unrelated"])
    _sso(client, provider, user.email)
    assert User.objects.get(pk=user.pk).role_names == {"coordinator"}
    assert client.get("/staff/people/").status_code == 200
    provider.person(user.email, roles=[])
    _sso(client, provider, user.email)
    assert User.objects.get(pk=user.pk).role_names == frozenset()
    assert client.get("/staff/people/").status_code == 404


def test_a_person_disabled_at_the_provider_loses_every_session_at_the_recheck(client, provider):
    user = _staff(flows.unique_email("v-leaver"))
    provider.person(user.email, amr=["mfa"])
    _sso(client, provider, user.email)
    other = Client()
    _sso(other, provider, user.email)
    first, second = ProviderSession.objects.filter(staff_session__user=user)
    token = first.refresh_token
    assert oidc.recheck(first.pk) is None, "still allowed"
    first.refresh_from_db()
    assert first.refresh_token != token, "the provider rotated it"
    provider.person(user.email, is_active=False)
    assert oidc.recheck(second.pk) == (user.pk, "refused")
    assert oidc.end_sessions(user.pk, "refused") == 2
    assert not StaffSession.objects.filter(user=user).exists()
    assert not _signed_in(client) and not _signed_in(other)
    assert _details("staff.signed_out_by_provider")[-1] == {
        "staff_id": user.pk,
        "why": "refused",
        "ended": 2,
    }


def test_bad_state_replayed_code_other_audience_and_expired_token_are_refused(client, provider):
    user = _staff(flows.unique_email("v-bad"))
    provider.person(user.email, amr=["mfa"])
    started = client.get("/accounts/single-sign-on/")
    back = authorize(provider, started["location"], user.email)
    forged = urlsplit(back.replace("state=", "state=x"))
    answer = client.get(f"{forged.path}?{forged.query}")
    assert answer.status_code == 400
    _refused(client, answer, "state", "did not start in this browser")
    # A refusal ends whatever this browser had started: the real answer fails now too.
    real = urlsplit(back)
    assert client.get(f"{real.path}?{real.query}").status_code == 400
    started = client.get("/accounts/single-sign-on/")
    real = urlsplit(authorize(provider, started["location"], user.email))
    assert client.get(f"{real.path}?{real.query}")["location"] == "/staff/"
    attacker = Client()
    state = parse_qs(urlsplit(attacker.get("/accounts/single-sign-on/")["location"]).query)
    code = parse_qs(real.query)["code"][0]
    replay = attacker.get(
        f"/accounts/single-sign-on/callback/?code={code}&state={state['state'][0]}"
    )
    _refused(attacker, replay, "code", "may have been used already")
    for fault in ({"audience": "some-other-service"}, {"expired": True}):
        provider.control("faults", **fault)
        fresh = Client()
        answer = _sso(fresh, provider, user.email)
        provider.control("faults", audience="", expired=False)
        assert answer.status_code == 400
        _refused(fresh, answer, "token", "could not be trusted")


def test_a_provider_that_is_down_is_a_clear_page(client, provider):
    user = _staff(flows.unique_email("v-down"))
    provider.person(user.email, amr=["mfa"])
    started = client.get("/accounts/single-sign-on/")
    back = urlsplit(authorize(provider, started["location"], user.email))
    provider.stop()
    try:
        answer = client.get(f"{back.path}?{back.query}")
    finally:
        provider.start()
    assert answer.status_code == 503
    _refused(client, answer, "provider_down", "did not answer")


def test_required_single_sign_on_refuses_local_passwords(client, provider):
    user = _staff(flows.unique_email("v-required"))
    call_command("single_sign_on", f"--organisation={ORGANISATION}", "--required=on")
    answer = flows_post(client, "/accounts/login/", {"username": user.email, "password": PASSWORD})
    assert answer.status_code == 403
    assert "signs in to Haven with its own accounts" in answer.content.decode()
    assert not _signed_in(client)
    assert _details("staff.password_refused")[-1] == {"why": "single_sign_on_required"}
    wrong = flows_post(client, "/accounts/login/", {"username": user.email, "password": "nope"})
    assert "email address or password is not right" in wrong.content.decode()
    call_command("single_sign_on", f"--organisation={ORGANISATION}", "--required=off")
    again = flows_post(client, "/accounts/login/", {"username": user.email, "password": PASSWORD})
    assert again["location"] == "/accounts/two-factor/"


def test_a_sensitive_action_is_confirmed_at_the_provider(client, provider):
    user = _staff(flows.unique_email("v-confirm"), "coordinator")
    provider.person(user.email, amr=["pwd", "mfa"])
    _sso(client, provider, user.email)
    before = StaffSession.objects.get(user=user).reauthenticated_at
    page = client.get("/accounts/confirm/?next=/staff/people/").content.decode()
    assert "Confirm with your organisation account" in page
    start = "/accounts/single-sign-on/?confirm=1&next=/staff/people/"
    started = client.get(start)
    query = parse_qs(urlsplit(started["location"]).query)
    assert query["prompt"] == ["login"] and query["max_age"] == ["0"]
    answer = _sso(client, provider, user.email, start)
    assert answer["location"] == "/staff/people/"
    assert StaffSession.objects.get(user=user).reauthenticated_at > before
    assert _details("staff.reauthenticated")[-1] == {"via": "single_sign_on"}
    provider.person(user.email, amr=["pwd"])
    answer = _sso(client, provider, user.email, start)
    assert answer.status_code == 403
    assert "did not confirm that it is you" in answer.content.decode()


def test_two_processes_never_use_one_refresh_token_twice(client, provider):
    # Each Haven process runs the re-check: one that read the session before another
    # process re-checked it finds it taken, and leaves the rotated token alone.
    user = _staff(flows.unique_email("v-twice"))
    provider.person(user.email, amr=["mfa"])
    _sso(client, provider, user.email)
    seen = ProviderSession.objects.get(staff_session__user=user)
    assert oidc.recheck(seen.pk) is None
    now = timezone.now()
    assert not oidc.claim(seen.pk, seen.checked_at, now), "taken already"
    taken = ProviderSession.objects.get(pk=seen.pk)
    assert taken.refresh_token != seen.refresh_token
    assert oidc.claim(seen.pk, taken.checked_at, now)


def test_the_providers_own_refusal_is_a_clear_page(client, provider):
    # The person said no at the provider (or it refused them): it comes back with an error.
    state = parse_qs(urlsplit(client.get("/accounts/single-sign-on/")["location"]).query)
    answer = client.get(
        f"/accounts/single-sign-on/callback/?error=access_denied&state={state['state'][0]}"
    )
    assert answer.status_code == 400
    _refused(client, answer, "provider_refused", "did not sign you in")
    # The state is used up even so: the same answer again is not taken.
    again = client.get(f"/accounts/single-sign-on/callback/?code=x&state={state['state'][0]}")
    _refused(client, again, "state", "did not start in this browser")
    assert client.post("/accounts/single-sign-on/callback/").status_code == 405
