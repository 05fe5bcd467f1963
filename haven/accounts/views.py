"""Signing in (password, then a code), enrolment, re-checks, signing out, set-up links."""

import base64
import io
import math
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import match_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.accounts import actions, oidc, signin
from haven.accounts.decorators import reauthentication_required, staff_required
from haven.accounts.forms import (
    ChoosePasswordForm,
    CodeForm,
    ConfirmForm,
    EnrolForm,
    SignInForm,
)
from haven.accounts.models import ProviderLink, User
from haven.audit.log import Actor, record

WRONG_CODE = (
    "That code is not right, or it has been used already. Wait for a new code and try again."
)


def safe_next(request: HttpRequest, candidate: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _confirmed_totp(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """Step one: email and password. Step two follows on its own page."""
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = SignInForm(request, data=request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next", "")
    context = {
        "form": form,
        "next": next_url,
        "sso_only": False,
        "sso_enabled": oidc.enabled(),
        "sso_label": settings.HAVEN_OIDC_BUTTON_LABEL,
    }
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        if oidc.sso_required_for(user):
            # The organisation requires its own accounts: the password is not enough.
            record("staff.password_refused", Actor.staff(user), why="single_sign_on_required")
            context["sso_only"] = True
            return render(request, "registration/login.html", context, status=403)
        signin.begin_second_step(request, user, safe_next(request, next_url))
        return second_step(user)
    return render(request, "registration/login.html", context)


def second_step(user: User) -> HttpResponse:
    """After the first step (a password, or the provider without two factors): a code."""
    if _confirmed_totp(user) is None:
        return redirect("accounts:enrol")
    return redirect("accounts:two_factor")


def redirect_after_sign_in(next_url: str) -> HttpResponse:
    return redirect(next_url or settings.LOGIN_REDIRECT_URL)


def wait_seconds(devices: list[Device]) -> int:
    """Whole seconds until django-otp takes a code again (0: now). After each wrong code
    the next is refused, unread, for 1, 2, 4, ... seconds: a right code typed too soon
    would look wrong, so the person is told to wait, and for how long."""
    now = timezone.now()
    waits = [
        (info["locked_until"] - now).total_seconds()
        for allowed, info in (device.verify_is_allowed() for device in devices)
        if not allowed and info and info.get("locked_until")
    ]
    return math.ceil(max(waits, default=0))


def wait_message(seconds: int) -> str:
    unit = "second" if seconds == 1 else "seconds"
    return (
        "This code came too soon after a wrong one, so it was not checked. "
        f"Wait {seconds} {unit}, then type it again."
    )


def _sign_in_devices(user: User) -> list[Device]:
    devices: list[Device] = [*TOTPDevice.objects.filter(user=user, confirmed=True)]
    return [*devices, *StaticDevice.objects.filter(user=user, confirmed=True)]


def _check_code(request: HttpRequest, user: User, form: Any) -> Device | None:
    """The device that accepts the code, or None with the error added to the form."""
    if signin.is_locked_out(request, user.email):
        return None
    wait = wait_seconds(_sign_in_devices(user))
    if wait:
        form.add_error("code", wait_message(wait))
        return None
    device = match_token(user, form.cleaned_data["code"])
    if device is None:
        signin.count_failed_code(request, user)
        form.add_error("code", WRONG_CODE)
    return device


@never_cache
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """Step two: a code from the authenticator app, or a recovery code."""
    user = signin.pending_user(request)
    if user is None:
        messages.info(request, "Please start again with your email address and password.")
        return redirect("login")
    if signin.is_locked_out(request, user.email):
        signin.forget_pending(request)
        return locked_out(request)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = _check_code(request, user, form)
        if signin.is_locked_out(request, user.email):
            signin.forget_pending(request)
            return locked_out(request)
        if device is not None:
            next_url = signin.pending_next(request)
            signin.complete_sign_in(request, user, device)
            if isinstance(device, StaticDevice):
                messages.warning(
                    request,
                    "You used a recovery code. Each works once: make new ones on Your account "
                    "if you are running out.",
                )
            return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    return render(request, "registration/two_factor.html", {"form": form})


def _unconfirmed_device(user: User) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@never_cache
@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    """First sign-in: set up the authenticator app, then get recovery codes once."""
    user = signin.pending_user(request)
    if user is None:
        messages.info(request, "Please start again with your email address and password.")
        return redirect("login")
    if _confirmed_totp(user) is not None:
        return redirect("accounts:two_factor")
    device = _unconfirmed_device(user)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = wait_seconds([device])
        if wait:
            form.add_error("code", wait_message(wait))
        elif device.verify_token(form.cleaned_data["code"]):
            return _enrolled(request, user, device)
        else:
            signin.count_failed_code(request, user)
            form.add_error("code", WRONG_CODE)
    context = {"form": form, "secret": _grouped(_base32_secret(device)), "email": user.email}
    return render(request, "registration/enrol.html", context)


def _enrolled(request: HttpRequest, user: User, device: TOTPDevice) -> HttpResponse:
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = actions.do_new_recovery_codes(user)
    next_url = signin.pending_next(request)
    signin.complete_sign_in(request, user, device)
    record("staff.two_factor_enrolled", Actor.staff(user))
    return render(
        request,
        "registration/recovery_codes.html",
        {"codes": codes, "next": next_url or resolve_url(settings.LOGIN_REDIRECT_URL)},
    )


def _base32_secret(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode("ascii").rstrip("=")


@never_cache
def enrol_qr_code(request: HttpRequest) -> HttpResponse:
    """The QR code of the secret being set up, drawn on the server as SVG (no scripts)."""
    user = signin.pending_user(request)
    if user is None or _confirmed_totp(user) is not None:
        raise Http404
    device = _unconfirmed_device(user)
    qr = segno.make(device.config_url, error="m")
    # A standalone SVG file: it needs its namespace (svg_inline leaves it out, and an
    # <img> then draws nothing) and no XML declaration is needed.
    svg = io.BytesIO()
    qr.save(svg, kind="svg", xmldecl=False, scale=6, border=4, dark="#000000", light="#ffffff")
    response = HttpResponse(svg.getvalue(), content_type="image/svg+xml")
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@staff_required()
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest) -> HttpResponse:
    """Re-authentication before a sensitive action: password and a code again."""
    user: User = request.user  # type: ignore[assignment]
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next", ""))
    form = ConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        checked = authenticate(request, username=user.email, password=form.cleaned_data["password"])
        if oidc.sso_required_for(user):
            form.add_error(None, "Your organisation requires its own sign-in: use the button.")
        elif checked is None or checked.pk != user.pk:
            form.add_error("password", "That password is not right.")
        else:
            device = _check_code(request, user, form)
            if device is not None:
                signin.mark_reauthenticated(request.staff_session)  # type: ignore[attr-defined]
                record("staff.reauthenticated", Actor.staff(user))
                return redirect(next_url)
        if signin.is_locked_out(request, user.email):
            signin.sign_out(request)
            return locked_out(request)
    context = {"form": form, "next": next_url, "sso": _confirms_with_provider(user)}
    return render(request, "registration/confirm.html", context)


def _confirms_with_provider(user: User) -> bool:
    """Does this person confirm it is them at the provider (not with a password here)?"""
    return oidc.enabled() and ProviderLink.objects.filter(user=user).exists()


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    signin.sign_out(request)
    messages.success(request, "You are signed out.")
    return redirect(settings.LOGOUT_REDIRECT_URL)


@staff_required()
@require_POST
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """End every session of this person, on every device, this one included."""
    ended = actions.do_sign_out_everywhere(request.user)  # type: ignore[arg-type]
    signin.sign_out(request)
    messages.success(
        request, f"You are signed out everywhere ({ended} signed-in browser(s) ended)."
    )
    return redirect("login")


@never_cache
@staff_required()
@require_http_methods(["GET"])
def account(request: HttpRequest) -> HttpResponse:
    """Your own account: who you are, your roles, signing out everywhere, recovery codes."""
    user: User = request.user  # type: ignore[assignment]
    static = StaticDevice.objects.filter(user=user).first()
    context = {
        "sessions": user.staff_sessions.order_by("-signed_in_at"),
        "codes_left": static.token_set.count() if static else 0,
    }
    return render(request, "accounts/account.html", context)


@never_cache
@staff_required()
@reauthentication_required
@require_POST
def new_recovery_codes(request: HttpRequest) -> HttpResponse:
    codes = actions.do_new_recovery_codes(request.user)  # type: ignore[arg-type]
    return render(
        request,
        "registration/recovery_codes.html",
        {"codes": codes, "next": resolve_url("accounts:account")},
    )


@never_cache
@require_http_methods(["GET", "POST"])
def set_up(request: HttpRequest, token: str) -> HttpResponse:
    """An invited member of staff chooses their password, then sets up two factors."""
    link = actions.usable_setup_link(token)
    if link is None:
        return render(request, "registration/setup_link_problem.html", status=404)
    if request.user.is_authenticated:
        signin.sign_out(request)
    form = ChoosePasswordForm(link.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = actions.do_choose_password(link, form.cleaned_data["new_password1"])
        except actions.StaffError:
            return render(request, "registration/setup_link_problem.html", status=404)
        signin.begin_second_step(request, member, resolve_url(settings.LOGIN_REDIRECT_URL))
        return redirect("accounts:enrol")
    return render(request, "registration/set_up.html", {"form": form, "member": link.user})


def locked_out(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """Shown when an account has had too many wrong passwords or codes (django-axes)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "registration/locked.html", {"minutes": minutes}, status=429)
