"""Subject access and erasure pages (rule D4): coordinators and administrators only,
after confirming it is them; every look-up, download and erasure is audited and limited."""

import datetime as dt
import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from haven.accounts.decorators import reauthentication_required, staff_required
from haven.accounts.models import User
from haven.accounts.permissions import Permission, has_permission
from haven.audit.log import Actor, pseudonym, record
from haven.audit.models import AuditEvent
from haven.subjects import erasure
from haven.subjects.access import Report, build
from haven.subjects.forms import AddressForm, EraseForm

COUNTED = ("subject.looked_up", "subject.exported", "subject.erased")


def _over_limit(user: User) -> bool:
    """More look-ups in the last hour than anyone needs: someone may be trawling."""
    since = timezone.now() - dt.timedelta(hours=1)
    done = AuditEvent.objects.filter(actor_user=user, action__in=COUNTED, at__gte=since)
    return done.count() >= settings.HAVEN_SUBJECT_ACCESS_PER_HOUR


def _too_many(request: HttpRequest, user: User, what: str, address: str) -> HttpResponse:
    record("subject.rate_limited", Actor.staff(user), what=what, person=pseudonym(address))
    return render(request, "subjects/too_many.html", status=429)


def _result(request: HttpRequest, user: User, report: Report, **extra: object) -> HttpResponse:
    context = {
        "report": report,
        "kept": report.kept(),
        "can_erase": has_permission(user, Permission.ERASE_PERSONAL_DATA),
        **extra,
    }
    return render(request, "subjects/result.html", context)


@never_cache
@staff_required(Permission.EXPORT_PERSONAL_DATA)
@reauthentication_required
@require_http_methods(["GET", "POST"])
def search(request: HttpRequest) -> HttpResponse:
    """Enter an address; see everything Haven holds about it (the address is posted, so it
    never appears in a URL or a server log)."""
    user: User = request.user  # type: ignore[assignment]
    form = AddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        address = form.cleaned_data["email"]
        if _over_limit(user):
            return _too_many(request, user, "look_up", address)
        report = build(user, address)
        record(
            "subject.looked_up",
            Actor.staff(user),
            person=report.person,
            holds_anything=report.holds_anything,
        )
        return _result(request, user, report)
    status = 400 if request.method == "POST" else 200
    return render(request, "subjects/search.html", {"form": form}, status=status)


@never_cache
@staff_required(Permission.EXPORT_PERSONAL_DATA)
@reauthentication_required
@require_http_methods(["GET", "POST"])
def export(request: HttpRequest) -> HttpResponse:
    """The same, as a JSON file to give the person."""
    user: User = request.user  # type: ignore[assignment]
    form = AddressForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return redirect("subjects:search")
    address = form.cleaned_data["email"]
    if _over_limit(user):
        return _too_many(request, user, "export", address)
    report = build(user, address)
    record("subject.exported", Actor.staff(user), person=report.person)
    body = json.dumps(report.as_json(), indent=2, ensure_ascii=False, sort_keys=True)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    day = f"{report.generated_at:%Y-%m-%d}"
    response["Content-Disposition"] = f'attachment; filename="haven-subject-access-{day}.json"'
    return response


@never_cache
@staff_required(Permission.ERASE_PERSONAL_DATA)
@reauthentication_required
@require_http_methods(["GET", "POST"])
def erase(request: HttpRequest) -> HttpResponse:
    """Ask why and for confirmation, then erase; show what went and what was kept."""
    user: User = request.user  # type: ignore[assignment]
    if request.method != "POST":
        return redirect("subjects:search")
    if "confirm_step" not in request.POST:
        address = AddressForm(request.POST)
        if not address.is_valid():
            return redirect("subjects:search")
        form = EraseForm(initial={"email": address.cleaned_data["email"]})
        return render(request, "subjects/erase.html", {"form": form})
    form = EraseForm(request.POST)
    if form.is_valid():
        address = form.cleaned_data["email"]
        if _over_limit(user):
            return _too_many(request, user, "erase", address)
        try:
            outcome = erasure.do_erase(user, address, form.cleaned_data["reason"])
        except erasure.ErasureError as error:
            form.add_error(None, str(error))
        else:
            report = build(user, address)
            record(
                "subject.looked_up",
                Actor.staff(user),
                person=report.person,
                holds_anything=report.holds_anything,
            )
            return _result(request, user, report, outcome=outcome)
    return render(request, "subjects/erase.html", {"form": form}, status=400)
