"""Guards for staff views: one at the top of each (deny by default)."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from haven.accounts import signin
from haven.accounts.permissions import Permission, has_permission

View = TypeVar("View", bound=Callable[..., HttpResponse])


def staff_required(permission: Permission | None = None) -> Callable[[View], View]:
    """Signed-in staff only; with a permission, staff without it get the same 404 as a
    page that does not exist, so nobody learns what they may not see."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if permission is not None and not has_permission(request.user, permission):
                raise Http404
            return view(request, *args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def reauthentication_required(view: View) -> View:
    """Ask for the password and a code again unless given in the last few minutes.

    Put it under staff_required on every view of a sensitive action (changing the policy,
    changing staff, lifting a ban, subject access, erasure), on the page with the form
    and on the action it posts to.
    """

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        staff_session = getattr(request, "staff_session", None)
        if signin.recently_reauthenticated(staff_session):
            return view(request, *args, **kwargs)
        if request.method != "GET":
            messages.info(request, "Please confirm it is you, then do that again.")
        back_to = request.get_full_path() if request.method == "GET" else request.path
        return redirect(reverse("accounts:confirm") + "?" + urlencode({"next": back_to}))

    return guarded  # type: ignore[return-value]
