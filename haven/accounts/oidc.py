"""Staff single sign-on with OpenID Connect (issue 16): the organisation's own accounts.

mozilla-django-oidc starts the authorization code flow (state, nonce and a PKCE verifier
kept in the session), exchanges the code and finds the provider's signing key in its
JWKS. Haven adds what the library leaves to the site: the ID token's issuer, audience,
expiry and nonce checked together with its signature; the account found by the
provider's stable subject id (never the email address alone, after a first link an
administrator allowed); two factors taken from the provider only when it says it checked
them (`amr` has "mfa", or an `acr` the organisation names); and every refusal shown as a
plain page, audited, with nothing signed in.

Leavers: each signed-in browser keeps the provider's refresh token, and `recheck_due`
(run by `manage.py serve` every few minutes) asks the provider again. When it refuses, as
it does for an account disabled there, every session of that person ends and their
meeting sockets close (signin.end_all_sessions, as for a deactivation here).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import absolutify
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from haven.accounts.models import (
    PendingProviderLink,
    ProviderLink,
    ProviderSession,
    RoleGrant,
    SingleSignOn,
    StaffSession,
    User,
)
from haven.accounts.permissions import StaffRole
from haven.audit.log import Actor, record
from haven.policy.models import Organisation
from haven.threads import DedicatedThread

logger = logging.getLogger(__name__)

# Clocks differ a little between Haven and the provider.
LEEWAY_SECONDS = 60
# A sign-in must come back from the provider within this time of starting.
STATE_LIFETIME_SECONDS = 15 * 60
# What Haven holds between the provider's answer and its own code step (no MFA claim).
PENDING_PROVIDER_KEY = "haven_pending_provider"  # signin.PROVIDER_KEY
# Set while a signed-in person confirms it is them at the provider (before a sensitive
# action): their account id and when they set off.
CONFIRM_KEY = "haven_oidc_confirm"
# How long an administrator's leave to link by email address lasts.
PENDING_LINK_DAYS = 14


def enabled() -> bool:
    return bool(settings.HAVEN_OIDC_ISSUER)


class Refused(Exception):
    """The sign-in (or a re-check) was refused; `reason` is a stable code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Each reason: the HTTP status and what the person is told, in plain words.
PROBLEMS: dict[str, tuple[int, str]] = {
    "state": (
        400,
        "This sign-in did not start in this browser, took too long, or has been used "
        "already. Start again from the sign-in page.",
    ),
    "provider_refused": (
        400,
        "Your organisation's sign-in service did not sign you in. Start again from the "
        "sign-in page.",
    ),
    "code": (
        400,
        "Your organisation's sign-in service did not accept this sign-in: it may have "
        "been used already or taken too long. Start again from the sign-in page.",
    ),
    "token": (
        400,
        "The answer from your organisation's sign-in service could not be trusted, so "
        "you were not signed in. Start again from the sign-in page. If it happens again, "
        "tell your digital coordinator or administrator.",
    ),
    "provider_down": (
        503,
        "Your organisation's sign-in service did not answer, so you were not signed in. "
        "Try again in a few minutes.",
    ),
    "no_refresh": (
        400,
        "Your organisation's sign-in service did not let Haven check later that your "
        "account is still active, so you were not signed in. Tell your digital "
        "coordinator or administrator (the offline_access permission is missing).",
    ),
    "not_confirmed": (
        403,
        "Your organisation's sign-in service did not confirm that it is you (signed in "
        "just now, with two factors), so the change was not made. Go back and try again.",
    ),
    "not_linked": (
        403,
        "Your organisation account is not linked to a Haven staff account yet. Ask your "
        "digital coordinator or administrator to link it, then try again.",
    ),
    "inactive": (
        403,
        "This Haven staff account is deactivated. Ask your digital coordinator or "
        "administrator if you need it again.",
    ),
}


def problem_page(request: HttpRequest, reason: str) -> HttpResponse:
    """A refused sign-in: the plain page, an audit row, and nothing signed in."""
    from haven.accounts import signin

    status, message = PROBLEMS[reason]
    request.session.pop(PENDING_PROVIDER_KEY, None)
    # As the page says: whoever was signed in in this browser no longer is.
    signin.forget_pending(request)
    signin.sign_out(request)
    record("staff.single_sign_on_refused", Actor.anonymous("single sign-on"), reason=reason)
    logger.warning("Single sign-on refused: %s", reason)
    response = render(
        request,
        "registration/single_sign_on_problem.html",
        {"message": message, "reason": reason},
        status=status,
    )
    # Logged just above, at WARNING: a provider that is down is not a fault in Haven, so
    # Django must not log its 503 again at ERROR.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


@dataclass(frozen=True)
class Endpoints:
    issuer: str
    authorization: str
    token: str
    jwks: str


_endpoints: Endpoints | None = None


def endpoints() -> Endpoints:
    """The provider's endpoints: as configured, or from its discovery document (once)."""
    global _endpoints
    if _endpoints is not None:
        return _endpoints
    issuer = settings.HAVEN_OIDC_ISSUER
    given = (
        settings.HAVEN_OIDC_AUTHORIZATION_ENDPOINT,
        settings.HAVEN_OIDC_TOKEN_ENDPOINT,
        settings.HAVEN_OIDC_JWKS_ENDPOINT,
    )
    if all(given):
        _endpoints = Endpoints(issuer, *given)
        return _endpoints
    try:
        response = requests.get(
            f"{issuer}/.well-known/openid-configuration",
            timeout=settings.HAVEN_OIDC_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        logger.warning("The OpenID provider's discovery document could not be read: %s", error)
        raise Refused("provider_down") from error
    if str(document.get("issuer", "")).rstrip("/") != issuer:
        # Another provider's document (a mix-up): never trust its keys or endpoints.
        logger.warning("The discovery document names another issuer; check HAVEN_OIDC_ISSUER.")
        raise Refused("provider_down")
    _endpoints = Endpoints(
        issuer,
        given[0] or str(document["authorization_endpoint"]),
        given[1] or str(document["token_endpoint"]),
        given[2] or str(document["jwks_uri"]),
    )
    return _endpoints


class Backend(OIDCAuthenticationBackend):  # type: ignore[misc]
    """The library's token exchange and JWKS lookup, with Haven's checks of the ID token.

    Not an authentication backend of the site: Haven signs people in itself (signin.py),
    so nothing else can sign anyone in through it.
    """

    def __init__(self, points: Endpoints) -> None:
        self.OIDC_OP_TOKEN_ENDPOINT = points.token
        self.OIDC_OP_USER_ENDPOINT = ""
        self.OIDC_OP_JWKS_ENDPOINT = points.jwks
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.UserModel = User
        self.issuer = points.issuer

    def _tokens(self, payload: dict[str, str]) -> dict[str, Any]:
        try:
            tokens: dict[str, Any] = self.get_token(payload)
        except requests.HTTPError as error:
            status = error.response.status_code if error.response is not None else 0
            if status in (400, 401):
                raise Refused("code") from error
            raise Refused("provider_down") from error
        except (requests.RequestException, ValueError) as error:
            raise Refused("provider_down") from error
        return tokens

    def exchange(self, code: str, verifier: str | None, redirect_uri: str) -> dict[str, Any]:
        """The provider's tokens for this code (once: a code used before is refused)."""
        payload = {
            "client_id": self.OIDC_RP_CLIENT_ID,
            "client_secret": self.OIDC_RP_CLIENT_SECRET,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
        }
        if verifier:
            payload["code_verifier"] = verifier
        return self._tokens(payload)

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        return self._tokens(
            {
                "client_id": self.OIDC_RP_CLIENT_ID,
                "client_secret": self.OIDC_RP_CLIENT_SECRET,
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
            }
        )

    def claims(self, id_token: Any, nonce: str | None) -> dict[str, Any]:
        """The ID token's claims, once its signature (the provider's JWKS key, RS256),
        issuer, audience, expiry and nonce are all right."""
        if not isinstance(id_token, str) or not id_token:
            raise Refused("token")
        try:
            key = self.retrieve_matching_jwk(id_token)
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except requests.RequestException as error:
            raise Refused("provider_down") from error
        except Exception as error:  # any fault in the token: jwt's errors, a bad JWKS
            logger.info("An ID token was refused: %s", type(error).__name__)
            raise Refused("token") from error
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise Refused("token")
        if nonce is not None and claims.get("nonce") != nonce:
            raise Refused("token")
        return claims


def single_sign_on_of(organisation_id: int) -> SingleSignOn:
    """The organisation's settings; the defaults (nothing made, no roles) if none."""
    found = SingleSignOn.objects.filter(organisation_id=organisation_id).first()
    return found or SingleSignOn(organisation_id=organisation_id)


def sso_required_for(user: User) -> bool:
    """Must this person sign in with the provider (their local password refused)?"""
    return (
        enabled()
        and SingleSignOn.objects.filter(
            organisation_id=user.organisation_id, required=True
        ).exists()
    )


def provider_checked_two_factors(claims: dict[str, Any], sso: SingleSignOn) -> bool:
    """Did the provider say it checked two factors? `amr` has "mfa", or `acr` is one the
    organisation names. Anything else, Haven asks for its own code."""
    amr = claims.get("amr")
    if isinstance(amr, list) and "mfa" in amr:
        return True
    acr = claims.get("acr")
    return isinstance(acr, str) and bool(acr) and acr in (sso.mfa_acr_values or [])


def apply_role_claim(user: User, claims: dict[str, Any], sso: SingleSignOn) -> None:
    """With a role claim configured, the person's roles are those its values map to, and
    none when none does (rule P2). Without one, roles are given in Haven only."""
    if not sso.roles_claim or not sso.role_map:
        return
    values = claims.get(sso.roles_claim) or []
    if isinstance(values, str):
        values = [values]
    valid = {role.value for role in StaffRole}
    roles = sorted(
        {
            str(sso.role_map[value])
            for value in values
            if isinstance(value, str) and str(sso.role_map.get(value, "")) in valid
        }
    )
    before = sorted(user.role_names)
    if roles == before:
        return
    user.role_grants.exclude(role__in=roles).delete()
    for role in roles:
        RoleGrant.objects.get_or_create(user=user, role=role)
    user.__dict__.pop("role_names", None)
    record(
        "staff.roles_from_provider",
        Actor.system(),
        staff_id=user.pk,
        before=before,
        after=roles,
    )


def _organisation() -> Organisation:
    organisation = Organisation.objects.filter(slug=settings.HAVEN_OIDC_ORGANISATION).first()
    if organisation is None:
        logger.warning("HAVEN_OIDC_ORGANISATION names no organisation.")
        raise Refused("not_linked")
    return organisation


@transaction.atomic
def who_signs_in(claims: dict[str, Any], issuer: str) -> tuple[User, ProviderLink]:
    """The staff account linked to this provider account, by its subject id.

    A provider account with no link gets one only if an administrator allowed it for the
    staff account with the same email address (once), or, if the organisation turned
    that on, a new account with no role (rule P2). Otherwise nobody signs in.
    """
    subject = str(claims["sub"])
    link = ProviderLink.objects.select_related("user").filter(issuer=issuer, subject=subject)
    found = link.first()
    if found is not None:
        user = found.user
    else:
        organisation = _organisation()
        email = str(claims.get("email") or "").strip().lower()
        pending = (
            PendingProviderLink.objects.select_related("user")
            .filter(
                user__email=email,
                user__organisation=organisation,
                expires_at__gt=timezone.now(),
            )
            .first()
            if email
            else None
        )
        if (
            pending is not None
            and not ProviderLink.objects.filter(user=pending.user, issuer=issuer).exists()
        ):
            user = pending.user
            pending.delete()
            found = _link(user, issuer, subject)
            record("staff.provider_linked", Actor.staff(user), how="allowed_by_administrator")
        elif (
            email
            and single_sign_on_of(organisation.pk).create_accounts
            and not User.objects.filter(email=email).exists()
        ):
            name = str(claims.get("name") or "").strip()[:150] or email
            user = User.objects.create_user(
                email=email, password=None, full_name=name, organisation=organisation
            )
            found = _link(user, issuer, subject)
            record("staff.created_by_provider", Actor.staff(user), roles=[])
        else:
            raise Refused("not_linked")
    if not user.is_active:
        raise Refused("inactive")
    return user, found


def _link(user: User, issuer: str, subject: str) -> ProviderLink:
    link: ProviderLink = ProviderLink.objects.create(
        user=user, issuer=issuer, subject=subject, name="Single sign-on", confirmed=True
    )
    return link


@transaction.atomic
def allow_link_by_email(actor: Actor, user: User) -> PendingProviderLink:
    """An administrator lets this account be linked at its next single sign-on."""
    pending, _ = PendingProviderLink.objects.update_or_create(
        user=user,
        defaults={"expires_at": timezone.now() + dt.timedelta(days=PENDING_LINK_DAYS)},
    )
    record("staff.provider_link_allowed", actor, staff_id=user.pk)
    return pending


@method_decorator(never_cache, name="dispatch")
class Start(OIDCAuthenticationRequestView):  # type: ignore[misc]
    """The button: off to the provider, with a fresh state, nonce and PKCE challenge."""

    def __init__(self, **kwargs: Any) -> None:
        View.__init__(self, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not enabled():
            raise Http404
        try:
            self.OIDC_OP_AUTH_ENDPOINT = endpoints().authorization
        except Refused as refused:
            return problem_page(request, refused.reason)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        request.session.pop(CONFIRM_KEY, None)
        if request.GET.get("confirm") and request.user.is_authenticated:
            request.session[CONFIRM_KEY] = {"user": request.user.pk, "since": time.time()}
        response: HttpResponse = super().get(request)
        return response

    def get_extra_params(self, request: HttpRequest) -> dict[str, str]:
        if CONFIRM_KEY in request.session:
            # Confirming it is them: the provider must ask again, not reuse its session.
            return {"prompt": "login", "max_age": "0"}
        return {}


@never_cache
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """The provider sends the person back here with a code (or an error)."""
    if not enabled():
        raise Http404
    try:
        return _signed_in(request)
    except Refused as refused:
        return problem_page(request, refused.reason)


def _used_state(request: HttpRequest) -> dict[str, Any]:
    """The nonce and PKCE verifier of this sign-in; its state never works again."""
    states = request.session.get("oidc_states")
    state = request.GET.get("state", "")
    entry = states.pop(state, None) if isinstance(states, dict) and state else None
    if isinstance(states, dict):
        request.session["oidc_states"] = states
    request.session.save()
    if not isinstance(entry, dict) or "nonce" not in entry:
        raise Refused("state")
    if time.time() - float(entry.get("added_on", 0)) > STATE_LIFETIME_SECONDS:
        raise Refused("state")
    return entry


def _signed_in(request: HttpRequest) -> HttpResponse:
    from haven.accounts import signin, views

    entry = _used_state(request)
    code = request.GET.get("code", "")
    if request.GET.get("error") or not code:
        raise Refused("provider_refused")
    points = endpoints()
    backend = Backend(points)
    redirect_uri = absolutify(request, reverse(settings.OIDC_AUTHENTICATION_CALLBACK_URL))
    tokens = backend.exchange(code, entry.get("code_verifier"), redirect_uri)
    claims = backend.claims(tokens.get("id_token"), entry["nonce"])
    refresh_token = tokens.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        raise Refused("no_refresh")
    user, link = who_signs_in(claims, points.issuer)
    sso = single_sign_on_of(user.organisation_id)
    confirming = request.session.pop(CONFIRM_KEY, None)
    if isinstance(confirming, dict) and request.user.is_authenticated:
        return _confirmed(request, user, claims, sso, confirming)
    with transaction.atomic():
        apply_role_claim(user, claims, sso)
    next_url = views.safe_next(request, str(request.session.get("oidc_login_next") or ""))
    if request.user.is_authenticated:
        signin.sign_out(request)
    signin.begin_second_step(request, user, next_url)
    request.session[PENDING_PROVIDER_KEY] = {"link": link.pk, "refresh_token": refresh_token}
    if provider_checked_two_factors(claims, sso):
        signin.complete_sign_in(request, user, link)
        return views.redirect_after_sign_in(next_url)
    return views.second_step(user)


def _confirmed(
    request: HttpRequest,
    user: User,
    claims: dict[str, Any],
    sso: SingleSignOn,
    confirming: dict[str, Any],
) -> HttpResponse:
    """A signed-in person confirmed it is them at the provider, before a sensitive action:
    the same account, signed in there just now, with two factors."""
    from haven.accounts import signin, views

    staff_session = signin.current_staff_session(request)
    fresh = float(claims.get("auth_time") or 0) >= float(confirming["since"]) - LEEWAY_SECONDS
    if (
        staff_session is None
        or user.pk != request.user.pk
        or confirming.get("user") != user.pk
        or not fresh
        or not provider_checked_two_factors(claims, sso)
    ):
        record("staff.reauthentication_refused", Actor.staff(user), via="single_sign_on")
        return render(
            request,
            "registration/single_sign_on_problem.html",
            {"message": PROBLEMS["not_confirmed"][1], "reason": "not_confirmed"},
            status=PROBLEMS["not_confirmed"][0],
        )
    signin.mark_reauthenticated(staff_session)
    record("staff.reauthenticated", Actor.staff(user), via="single_sign_on")
    return views.redirect_after_sign_in(str(request.session.get("oidc_login_next") or ""))


def attach(request: HttpRequest, user: User, staff_session: StaffSession) -> dict[str, str]:
    """After sign-in: keep the provider's refresh token with the new staff session.
    Returns what the audit says about it (empty for a password sign-in)."""
    pending = request.session.pop(PENDING_PROVIDER_KEY, None)
    if not isinstance(pending, dict):
        return {}
    link = ProviderLink.objects.filter(pk=pending.get("link"), user=user).first()
    if link is None:
        return {}
    ProviderSession.objects.create(
        staff_session=staff_session,
        link=link,
        refresh_token=str(pending.get("refresh_token") or ""),
        checked_at=timezone.now(),
    )
    return {"via": "single_sign_on"}


# Leavers: the re-check.

_recheck_thread = DedicatedThread("single-sign-on")


def _due() -> list[int]:
    limit = timezone.now() - dt.timedelta(minutes=settings.HAVEN_OIDC_RECHECK_MINUTES)
    return list(ProviderSession.objects.filter(checked_at__lte=limit).values_list("pk", flat=True))


def claim(provider_session_id: int, seen: dt.datetime, now: dt.datetime) -> bool:
    """Take this session's re-check, if no other process took it since `seen`."""
    claimed = ProviderSession.objects.filter(pk=provider_session_id, checked_at=seen)
    return claimed.update(checked_at=now) == 1


def recheck(provider_session_id: int) -> tuple[int, str] | None:
    """Ask the provider whether this session's person may still sign in. Returns (the
    staff account, why) when every session of theirs must end; None when it may go on."""
    held = ProviderSession.objects.select_related("link", "staff_session__user").filter(
        pk=provider_session_id
    )
    provider_session = held.first()
    if provider_session is None:
        return None
    user = provider_session.staff_session.user
    now = timezone.now()
    # Every Haven process runs the re-check: the one that moves `checked_at` on does it,
    # so a rotated refresh token is never used twice (the provider would take that for a
    # stolen token and refuse the person).
    if not claim(provider_session.pk, provider_session.checked_at, now):
        return None
    try:
        backend = Backend(endpoints())
        tokens = backend.refresh(provider_session.refresh_token)
        claims = backend.claims(tokens.get("id_token"), None) if tokens.get("id_token") else {}
    except Refused as refused:
        if refused.reason == "provider_down":
            since = provider_session.unanswered_since or now
            ProviderSession.objects.filter(pk=provider_session.pk).update(unanswered_since=since)
            window = dt.timedelta(minutes=settings.HAVEN_OIDC_RECHECK_MINUTES)
            if now - since < window:
                logger.warning("The OpenID provider did not answer a re-check; trying again.")
                return None
            return user.pk, "unanswered"
        return user.pk, "refused"
    if claims and str(claims.get("sub")) != provider_session.link.subject:
        return user.pk, "refused"
    ProviderSession.objects.filter(pk=provider_session.pk).update(
        refresh_token=str(tokens.get("refresh_token") or provider_session.refresh_token),
        unanswered_since=None,
    )
    if claims:
        with transaction.atomic():
            apply_role_claim(user, claims, single_sign_on_of(user.organisation_id))
    return None


@transaction.atomic
def end_sessions(user_id: int, why: str) -> int:
    """The provider no longer vouches for this person: end every session of theirs here,
    and close their meeting sockets (ASVS V7: terminate sessions of a disabled account)."""
    from haven.accounts.signin import end_all_sessions

    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return 0
    ended = end_all_sessions(user)
    record("staff.signed_out_by_provider", Actor.system(), staff_id=user.pk, why=why, ended=ended)
    return ended


async def recheck_schedule() -> None:
    """Run by `manage.py serve`: re-check each single sign-on session when it is due."""
    every = min(settings.HAVEN_OIDC_RECHECK_MINUTES / 2, 1.0) * 60
    while True:
        await asyncio.sleep(every)
        try:
            for provider_session_id in await _recheck_thread.run(_due):
                ending = await _recheck_thread.run(recheck, provider_session_id)
                if ending is not None:
                    await database_sync_to_async(end_sessions)(*ending)
        except Exception:
            logger.warning("The single sign-on re-check failed; it runs again soon.", exc_info=True)
