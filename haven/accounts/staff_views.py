"""Staff pages for coordinators, administrators and the service manager (rule P2)."""

import re

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from haven.accounts import actions
from haven.accounts.access import access_staff_member
from haven.accounts.decorators import reauthentication_required, staff_required
from haven.accounts.forms import AuditFilterForm, StaffChangeForm, StaffInviteForm
from haven.accounts.models import User
from haven.accounts.permissions import Permission, has_permission
from haven.audit.log import notes_of, pseudonym, readable_details
from haven.audit.models import AuditEvent, AuditIdentity
from haven.meetings import dashboard
from haven.meetings.models import Meeting

AUDIT_PAGE_SIZE = 50
PSEUDONYM = re.compile(r"[0-9a-f]{32}")


@staff_required()
@require_http_methods(["GET"])
def staff_home(request: HttpRequest) -> HttpResponse:
    """Where staff land after signing in. Anyone who hosts sees their dashboard: their
    meetings, who is waiting now, and the form that schedules a meeting (it posts to
    /meetings/). Everyone sees the pages their roles open."""
    user = request.user
    assert isinstance(user, User)
    if has_permission(user, Permission.HOST_MEETINGS):
        return dashboard.page(request, user, dashboard.schedule_form(user))
    return render(request, "accounts/staff_home.html", {"hosts": False})


@staff_required(Permission.VIEW_STAFF)
@require_http_methods(["GET"])
def staff_list(request: HttpRequest) -> HttpResponse:
    people = (
        User.objects.filter(organisation_id=request.user.organisation_id)  # type: ignore[union-attr]
        .prefetch_related("role_grants")
        .order_by("full_name")
    )
    return render(request, "accounts/staff_list.html", {"people": people})


@staff_required(Permission.MANAGE_STAFF)
@reauthentication_required
@require_http_methods(["GET", "POST"])
def staff_invite(request: HttpRequest) -> HttpResponse:
    form = StaffInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = actions.do_invite_staff(request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except actions.StaffError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, f"{member.full_name} is invited. A set-up link is on its way by email."
            )
            return redirect("staff:member", staff_id=member.pk)
    return render(request, "accounts/staff_invite.html", {"form": form})


@staff_required(Permission.VIEW_STAFF)
@require_http_methods(["GET"])
def staff_member(request: HttpRequest, staff_id: int) -> HttpResponse:
    member = access_staff_member(request.user, staff_id)  # type: ignore[arg-type]
    context = {
        "member": member,
        "can_manage": has_permission(request.user, Permission.MANAGE_STAFF),
        "not_set_up": not member.has_usable_password(),
    }
    return render(request, "accounts/staff_member.html", context)


@staff_required(Permission.MANAGE_STAFF)
@reauthentication_required
@require_http_methods(["GET", "POST"])
def staff_change(request: HttpRequest, staff_id: int) -> HttpResponse:
    """Change someone's job title (shown to attendees, U1) and roles."""
    member = access_staff_member(request.user, staff_id)  # type: ignore[arg-type]
    initial = {"job_title": member.job_title, "roles": sorted(member.role_names)}
    form = StaffChangeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_change_staff(request.user, member, **form.cleaned_data)  # type: ignore[arg-type]
        except actions.StaffError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"{member.full_name}'s details are saved.")
            return redirect("staff:member", staff_id=member.pk)
    return render(request, "accounts/staff_change.html", {"form": form, "member": member})


def _run(request: HttpRequest, staff_id: int, action: str) -> HttpResponse:
    member = access_staff_member(request.user, staff_id)  # type: ignore[arg-type]
    try:
        if action == "deactivate":
            ended = actions.do_deactivate(request.user, member)  # type: ignore[arg-type]
            done = f"{member.full_name} is deactivated; {ended} signed-in browser(s) ended."
        elif action == "reactivate":
            actions.do_reactivate(request.user, member)  # type: ignore[arg-type]
            done = f"{member.full_name} can sign in again."
        else:
            actions.do_resend_setup_link(request.user, member)  # type: ignore[arg-type]
            done = f"A new set-up link is on its way to {member.email}."
    except actions.StaffError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done)
    return redirect("staff:member", staff_id=member.pk)


@staff_required(Permission.MANAGE_STAFF)
@reauthentication_required
@require_POST
def staff_deactivate(request: HttpRequest, staff_id: int) -> HttpResponse:
    """Stop someone signing in; their sessions end at once (ASVS 7.4.2)."""
    return _run(request, staff_id, "deactivate")


@staff_required(Permission.MANAGE_STAFF)
@reauthentication_required
@require_POST
def staff_reactivate(request: HttpRequest, staff_id: int) -> HttpResponse:
    return _run(request, staff_id, "reactivate")


@staff_required(Permission.MANAGE_STAFF)
@reauthentication_required
@require_POST
def staff_resend_setup(request: HttpRequest, staff_id: int) -> HttpResponse:
    return _run(request, staff_id, "resend")


@staff_required(Permission.VIEW_AUDIT)
@require_http_methods(["GET", "POST"])
def audit_log(request: HttpRequest) -> HttpResponse:
    """The audit log, newest first, for the service manager (rule P2, D5), filtered by
    meeting and by person. A person is entered by email address, posted (never in a URL)
    and turned into the pseudonym the log uses; the filtered page's URL holds only that."""
    organisation_id = request.user.organisation_id  # type: ignore[union-attr]
    meetings = Meeting.objects.filter(organisation_id=organisation_id).order_by("-starts_at", "-id")
    form = AuditFilterForm(request.POST or None, meetings=meetings)
    if request.method == "POST":
        if form.is_valid():
            query = {}
            if form.cleaned_data["meeting"]:
                query["meeting"] = form.cleaned_data["meeting"]
            if form.cleaned_data["email"]:
                query["person"] = pseudonym(form.cleaned_data["email"])
            return redirect(reverse("staff:audit") + (f"?{urlencode(query)}" if query else ""))
        status = 400
    else:
        status = 200
    mine = AuditEvent.objects.filter(
        actor_user__organisation_id=organisation_id
    ) | AuditEvent.objects.filter(meeting__organisation_id=organisation_id)
    events = mine
    meeting = None
    if meeting_id := request.GET.get("meeting"):
        meeting = next((m for m in meetings if str(m.public_id) == meeting_id), None)
        if meeting is None:
            raise Http404
        events = events.filter(meeting=meeting)
    person = request.GET.get("person", "")
    # Who a pseudonym is (AuditIdentity) is shared by every organisation of the deployment:
    # name the person only when this organisation's own part of the log names them (subject
    # access requests name whoever was looked up, known here or not: they do not count).
    person_here = False
    if person:
        if not PSEUDONYM.fullmatch(person):
            raise Http404
        about = Q(actor_ref=person) | Q(subject_ref=person) | Q(details__person=person)
        person_here = mine.filter(about).exclude(action__startswith="subject.").exists()
        events = events.filter(about)
    events = events.select_related("meeting").order_by("-id")
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    refs = {e.actor_ref for e in page} | {e.subject_ref for e in page if e.subject_ref}
    named = refs | ({person} if person_here else set())
    labels = dict(AuditIdentity.objects.filter(ref__in=named).values_list("ref", "label"))
    notes = notes_of(page)
    rows = [
        {
            "event": event,
            "details": readable_details(event, notes),
            "who": _who(event.actor_kind, event.actor_ref, labels),
            "about": _who("attendee", event.subject_ref, labels) if event.subject_ref else "",
        }
        for event in page
    ]
    filters = {k: v for k, v in (("meeting", request.GET.get("meeting")), ("person", person)) if v}
    context = {
        "page": page,
        "rows": rows,
        "form": form,
        "meeting": meeting,
        "person": _person_label(person, person_here, labels),
        "filters": urlencode(filters),
    }
    return render(request, "accounts/audit_log.html", context, status=status)


def _person_label(person: str, here: bool, labels: dict[str, str]) -> str:
    if not person:
        return ""
    if not here:
        return "a person this organisation's log does not name"
    return labels.get(person) or "a person whose identity Haven no longer holds"


def _who(kind: str, ref: str, labels: dict[str, str]) -> str:
    if kind == "system":
        return "Haven"
    if ref in labels:
        return labels[ref]
    if kind == "anonymous":
        return f"Someone not signed in ({ref.removeprefix('anonymous:')})"
    return f"Erased person ({ref[:8]})"
