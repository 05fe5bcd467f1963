"""The bans page: coordinators and administrators lift bans or keep them past their
review date; the service manager reads."""

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from haven.accounts.decorators import reauthentication_required, staff_required
from haven.accounts.models import User
from haven.accounts.permissions import Permission
from haven.bans import actions
from haven.bans.access import access_ban
from haven.bans.forms import LiftBanForm, ReviewBanForm
from haven.bans.models import Ban


@staff_required(Permission.VIEW_BANS)
@require_http_methods(["GET"])
def ban_list(request: HttpRequest) -> HttpResponse:
    """Bans due for review first (their date soonest first), then every ban in force,
    newest first, then lifted ones."""
    user: User = request.user  # type: ignore[assignment]
    bans = (
        Ban.objects.filter(organisation_id=user.organisation_id)
        .select_related("banned_by", "lifted_by", "meeting")
        .order_by("-created_at", "-id")
    )
    active = [ban for ban in bans if ban.lifted_at is None]
    soon = timezone.localdate() + dt.timedelta(days=actions.REVIEW_NOTICE_DAYS)
    context = {
        "due": sorted((ban for ban in active if ban.review_on <= soon), key=_review_order),
        "notice_days": actions.REVIEW_NOTICE_DAYS,
        "active": active,
        "lifted": [ban for ban in bans if ban.lifted_at is not None],
    }
    return render(request, "bans/list.html", context)


def _review_order(ban: Ban) -> tuple[dt.date, int]:
    return ban.review_on, ban.pk


@staff_required(Permission.MANAGE_BANS)
@reauthentication_required
@require_http_methods(["GET", "POST"])
def ban_lift(request: HttpRequest, ban_id: int) -> HttpResponse:
    """Ask why, then lift the ban: a sensitive action, so the password and a code again."""
    user: User = request.user  # type: ignore[assignment]
    ban = access_ban(user, ban_id)
    if ban.lifted_at is not None:
        messages.info(request, "This ban has already been lifted.")
        return redirect("bans:list")
    form = LiftBanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_lift_ban(user, ban, form.cleaned_data["reason"])
        except actions.BanError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, f"The ban on {ban.email} is lifted. They can be invited again."
            )
            return redirect("bans:list")
    status = 400 if request.method == "POST" else 200
    return render(request, "bans/lift.html", {"ban": ban, "form": form}, status=status)


@staff_required(Permission.MANAGE_BANS)
@reauthentication_required
@require_http_methods(["GET", "POST"])
def ban_review(request: HttpRequest, ban_id: int) -> HttpResponse:
    """Keep a ban to a new review date, saying why (rule S8); a sensitive action."""
    user: User = request.user  # type: ignore[assignment]
    ban = access_ban(user, ban_id)
    if ban.lifted_at is not None:
        messages.info(request, "This ban is no longer in force.")
        return redirect("bans:list")
    form = ReviewBanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        review_on = form.cleaned_data["review_on"]
        try:
            actions.do_change_review(user, ban, review_on, form.cleaned_data["reason"])
        except actions.BanError as error:
            form.add_error("review_on" if "date" in str(error) else None, str(error))
        else:
            messages.success(
                request, f"The ban on {ban.email} stays. Review it again by {review_on:%-d %b %Y}."
            )
            return redirect("bans:list")
    status = 400 if request.method == "POST" else 200
    return render(request, "bans/review.html", {"ban": ban, "form": form}, status=status)
