"""Staff sign-in in two steps, and the life of a staff session (ASVS 6, 7).

A person counts as signed in only after both steps: their password, then a code from
their authenticator app (or a recovery code). Between the two, the session holds only a
"pending" mark, so no page, socket or action treats them as staff. Every signed-in
session has a StaffSession row; deleting it (and the Django session) signs it out.
"""

import datetime as dt
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.signals import user_login_failed
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.models import Device

from haven.accounts.models import ProviderLink, StaffSession, User
from haven.audit.log import Actor, record

PENDING_USER_KEY = "haven_pending_user"
PENDING_SINCE_KEY = "haven_pending_since"
PENDING_NEXT_KEY = "haven_pending_next"
# The second step must follow the first within this time.
PENDING_LIFETIME = dt.timedelta(minutes=10)
# Held for a sign-in that came from the organisation's OpenID provider (haven/accounts/oidc.py).
PROVIDER_KEY = "haven_pending_provider"
AUTH_BACKEND = "django.contrib.auth.backends.ModelBackend"


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str:
    """The account a sign-in attempt is for, as django-axes counts failures: the email."""
    if credentials and credentials.get("username"):
        return str(credentials["username"]).strip().lower()
    return str(request.POST.get("username", "")).strip().lower()


def is_locked_out(request: HttpRequest, email: str) -> bool:
    """Has this account had too many wrong passwords or codes lately?"""
    return bool(AxesProxyHandler.is_locked(request, {"username": email.lower()}))


def count_failed_code(request: HttpRequest, user: User) -> None:
    """A wrong code counts towards the same lockout as a wrong password."""
    user_login_failed.send(sender=__name__, credentials={"username": user.email}, request=request)


def begin_second_step(request: HttpRequest, user: User, next_url: str) -> None:
    """The password was right: remember who is halfway through signing in."""
    request.session.cycle_key()
    # Single sign-on sets its own mark after this; a password sign-in never carries one.
    request.session.pop(PROVIDER_KEY, None)
    request.session[PENDING_USER_KEY] = user.pk
    request.session[PENDING_SINCE_KEY] = timezone.now().isoformat()
    request.session[PENDING_NEXT_KEY] = next_url


def pending_user(request: HttpRequest) -> User | None:
    """The person who gave a right password in this browser a moment ago, if any."""
    user_id = request.session.get(PENDING_USER_KEY)
    since = request.session.get(PENDING_SINCE_KEY)
    if user_id is None or since is None:
        return None
    if timezone.now() - dt.datetime.fromisoformat(since) > PENDING_LIFETIME:
        forget_pending(request)
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def pending_next(request: HttpRequest) -> str:
    return str(request.session.get(PENDING_NEXT_KEY) or "")


def forget_pending(request: HttpRequest) -> None:
    for key in (PENDING_USER_KEY, PENDING_SINCE_KEY, PENDING_NEXT_KEY):
        request.session.pop(key, None)


@transaction.atomic
def complete_sign_in(request: HttpRequest, user: User, device: Device) -> None:
    """Both factors are right: sign the person in and start their staff session."""
    forget_pending(request)
    login(request, user, backend=AUTH_BACKEND)
    otp_login(request, device)
    # The session store forgets the session at the absolute limit whatever happens. The
    # idle limit is kept per request by StaffSessionMiddleware, not by the store: a host
    # in a long meeting talks over the WebSocket only, and must not lose the meeting.
    request.session.set_expiry(
        timezone.now() + dt.timedelta(hours=settings.HAVEN_STAFF_ABSOLUTE_HOURS)
    )
    request.session.save()
    now = timezone.now()
    staff_session = StaffSession.objects.create(
        user=user,
        session_key=request.session.session_key or "",
        signed_in_at=now,
        last_seen_at=now,
        reauthenticated_at=now,
        user_agent=request.headers.get("user-agent", "")[:200],
    )
    from haven.accounts import oidc  # it signs people in through this module

    via: dict[str, Any] = oidc.attach(request, user, staff_session)
    if via:
        # Which factors: the provider's own (its `amr` or `acr` said so) or Haven's code.
        via["two_factors"] = "provider" if isinstance(device, ProviderLink) else "haven"
    record("staff.signed_in", Actor.staff(user), second_factor=device.__class__.__name__, **via)


def current_staff_session(request: HttpRequest) -> StaffSession | None:
    key = request.session.session_key
    if not key:
        return None
    return StaffSession.objects.filter(session_key=key).first()


def session_problem(staff_session: StaffSession | None, now: dt.datetime) -> str:
    """Why this staff session must end now, in plain words; empty if it may go on."""
    if staff_session is None:
        return "You were signed out. Please sign in again."
    if now - staff_session.signed_in_at > dt.timedelta(hours=settings.HAVEN_STAFF_ABSOLUTE_HOURS):
        return (
            f"You were signed out because you signed in more than "
            f"{settings.HAVEN_STAFF_ABSOLUTE_HOURS} hours ago. Please sign in again."
        )
    if now - staff_session.last_seen_at > dt.timedelta(minutes=settings.HAVEN_STAFF_IDLE_MINUTES):
        return (
            f"You were signed out because nothing happened for "
            f"{settings.HAVEN_STAFF_IDLE_MINUTES} minutes. Please sign in again."
        )
    return ""


def staff_session_alive(session_key: str | None) -> bool:
    """For code outside HTTP (the meeting WebSocket): is this staff session still on?"""
    if not session_key:
        return False
    staff_session = StaffSession.objects.filter(session_key=session_key).first()
    return not session_problem(staff_session, timezone.now())


def touch_staff_session(session_key: str | None) -> None:
    """Count activity outside HTTP (a host busy in a meeting) against the idle limit."""
    if session_key:
        StaffSession.objects.filter(session_key=session_key).update(last_seen_at=timezone.now())


def recently_reauthenticated(staff_session: StaffSession | None) -> bool:
    """Did the person give their password and a code within the last few minutes?"""
    if staff_session is None:
        return False
    limit = dt.timedelta(minutes=settings.HAVEN_REAUTH_MINUTES)
    return timezone.now() - staff_session.reauthenticated_at <= limit


def mark_reauthenticated(staff_session: StaffSession) -> None:
    staff_session.reauthenticated_at = timezone.now()
    staff_session.save(update_fields=["reauthenticated_at"])


def sign_out(request: HttpRequest) -> None:
    """End this browser's session (its StaffSession row goes with it)."""
    key = request.session.session_key
    user = request.user
    if user.is_authenticated:
        record("staff.signed_out", Actor.staff(user))
    logout(request)
    if key:
        StaffSession.objects.filter(session_key=key).delete()


@transaction.atomic
def end_all_sessions(user: User) -> int:
    """Sign this person out in every browser at once (ASVS 7.4.2): delete the sessions."""
    keys = list(user.staff_sessions.values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    user.staff_sessions.all().delete()
    # Open meeting sockets belong to those sessions too: close them now, not at next use.
    from haven.room import groups  # the room depends on accounts, not the other way round

    groups.signal_on_commit(groups.staff_member(user.pk), {"type": "room.signed_out"}, group=True)
    return len(keys)
