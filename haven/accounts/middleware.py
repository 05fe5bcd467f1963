"""Every staff request: two factors done, session still current, timeouts kept (ASVS 7.3)."""

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from haven.accounts import signin

# Write "last seen" at most this often; the idle timeout is counted in minutes anyway.
TOUCH_EVERY = dt.timedelta(seconds=30)


class StaffSessionMiddleware:
    """Sign out a staff session that is unverified, ended elsewhere, idle or too old.

    Sign-in only ever completes with both factors, so an unverified staff session should
    not exist; if one does (for example made by other code), it is ended here too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)
        now = timezone.now()
        staff_session = signin.current_staff_session(request)
        problem = signin.session_problem(staff_session, now)
        if not problem and not user.is_verified():  # type: ignore[attr-defined]
            problem = "Please sign in again with your password and a code."
        if problem:
            signin.sign_out(request)
            messages.warning(request, problem)
            return redirect(settings.LOGIN_URL)
        assert staff_session is not None
        if now - staff_session.last_seen_at > TOUCH_EVERY:
            staff_session.last_seen_at = now
            staff_session.save(update_fields=["last_seen_at"])
        request.staff_session = staff_session  # type: ignore[attr-defined]
        return self.get_response(request)
