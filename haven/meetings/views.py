from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods

from haven.accounts.models import User
from haven.consent.status import status_of
from haven.invitations.actions import (
    InvitationError,
    do_change_invitation,
    do_invite,
    do_resend,
    do_revoke,
    do_unlock_passcode,
)
from haven.invitations.models import Invitation
from haven.meetings import capacity, dashboard
from haven.meetings.access import access_meeting
from haven.meetings.actions import (
    MeetingError,
    do_cancel_meeting,
    do_change_house_rules,
    do_change_time,
    do_create_meeting,
)
from haven.meetings.forms import (
    HouseRulesForm,
    InviteeForm,
    InviteForm,
    MeetingTimeForm,
)
from haven.meetings.models import Meeting


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
@require_http_methods(["GET", "POST"])
def meeting_list(request: HttpRequest) -> HttpResponse:
    """Every meeting the host has hosted (GET). POST: the dashboard's schedule form, the
    one form that schedules a meeting; refused, the dashboard shows it again."""
    user = _staff(request)
    if request.method == "POST":
        form = dashboard.schedule_form(user, request.POST)
        if form.is_valid():
            meeting = do_create_meeting(user, **form.cleaned_data)
            messages.success(request, f"“{meeting.title}” is scheduled. Now invite people to it.")
            return redirect("meetings:detail", meeting_id=meeting.public_id)
        return dashboard.page(request, user, form, status=400)
    meetings = Meeting.objects.filter(host=user).select_related("meeting_type")
    return render(
        request, "meetings/list.html", {"meetings": meetings.order_by("-starts_at", "-id")}
    )


@login_required
@require_http_methods(["GET"])
def waiting_now(request: HttpRequest) -> JsonResponse:
    """Who is waiting now in each of the host's meetings, as the dashboard shows it: the
    dashboard's page asks every few seconds and puts each part in place."""
    user = _staff(request)
    parts = {
        str(item.meeting.public_id): render_to_string(
            "meetings/_waiting_now.html", {"item": item, "meeting": item.meeting}, request
        )
        for item in dashboard.upcoming(user)
    }
    return JsonResponse({"meetings": parts})


@login_required
@require_http_methods(["GET", "POST"])
def meeting_detail(request: HttpRequest, meeting_id: str) -> HttpResponse:
    """One meeting: who is invited and where each is, a form to invite someone."""
    user = _staff(request)
    meeting = access_meeting(user, meeting_id)
    staff_names = User.objects.filter(organisation=meeting.organisation, is_active=True)
    form = InviteForm(
        request.POST or None, staff_names=staff_names.values_list("full_name", flat=True)
    )
    if request.method == "POST" and form.is_valid():
        try:
            invitation = _invite_within_cap(user, meeting, form.cleaned_data)
        except InvitationError as error:
            form.add_error(None, str(error))
        else:
            asked = (
                f"their parent or carer, {invitation.parent_name},"
                if invitation.is_child
                else "them"
            )
            messages.success(
                request,
                f"Invitation sent to {invitation.name}: we have emailed {asked} the house "
                "rules to agree to. Their link and passcode follow once they agree.",
            )
            return redirect("meetings:detail", meeting_id=meeting.public_id)
    rules = meeting.current_house_rules()
    invitations = meeting.invitations.all()
    context = {
        "meeting": meeting,
        "form": form,
        "rules": rules,
        "statuses": [status_of(invitation, rules) for invitation in invitations],
    }
    return render(request, "meetings/detail.html", context, status=400 if form.errors else 200)


@transaction.atomic
def _invite_within_cap(user: User, meeting: Meeting, invitee: dict[str, Any]) -> Invitation:
    """Invite, unless the meeting already has as many invitations standing as its type
    takes attendees (rule P3). The meeting row is locked, so two invitations sent at
    once cannot both take the last place."""
    meeting = Meeting.lock(meeting.pk)
    if capacity.invitations_left(meeting) < 1:
        raise InvitationError(capacity.invitations_full_message(meeting))
    return do_invite(user, meeting, **invitee)


@login_required
@require_http_methods(["GET", "POST"])
def house_rules(request: HttpRequest, meeting_id: str) -> HttpResponse:
    """Change this meeting's house rules; everyone invited is asked to agree again (G1)."""
    user = _staff(request)
    meeting = access_meeting(user, meeting_id)
    current = meeting.current_house_rules()
    initial = {"text": current.text, "easy_read": current.easy_read}
    form = HouseRulesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            rules = do_change_house_rules(user, meeting, **form.cleaned_data)
        except MeetingError as error:
            form.add_error(None, str(error))
        else:
            if rules is None:
                messages.info(request, "The house rules did not change.")
            else:
                messages.success(
                    request,
                    f"The house rules are now version {rules.version}. Everyone invited has "
                    "been asked to agree to them. Nobody can enter until they agree.",
                )
            return redirect("meetings:detail", meeting_id=meeting.public_id)
    context = {"meeting": meeting, "form": form, "rules": current}
    return render(request, "meetings/house_rules.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def change_time(request: HttpRequest, meeting_id: str) -> HttpResponse:
    """Move a scheduled meeting; invitees get the new time and a calendar update."""
    user = _staff(request)
    meeting = access_meeting(user, meeting_id)
    initial = {"starts_at": meeting.starts_at, "duration_minutes": meeting.duration_minutes}
    form = MeetingTimeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            changed = do_change_time(user, meeting, **form.cleaned_data)
        except MeetingError as error:
            form.add_error(None, str(error))
        else:
            if changed:
                messages.success(request, "The time is changed. Everyone invited is told.")
            else:
                messages.info(request, "The time did not change.")
            return redirect("meetings:detail", meeting_id=meeting.public_id)
    context = {"meeting": meeting, "form": form}
    return render(request, "meetings/change_time.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def cancel_meeting(request: HttpRequest, meeting_id: str) -> HttpResponse:
    """Ask to confirm, then cancel: every link stops working and invitees are told."""
    user = _staff(request)
    meeting = access_meeting(user, meeting_id)
    error = None
    if request.method == "POST":
        try:
            do_cancel_meeting(user, meeting)
        except MeetingError as refused:
            error = str(refused)
        else:
            messages.success(request, f"“{meeting.title}” is cancelled. Everyone invited is told.")
            return redirect("meetings:detail", meeting_id=meeting.public_id)
    context = {"meeting": meeting, "error": error}
    return render(request, "meetings/cancel.html", context, status=400 if error else 200)


def _invitation(request: HttpRequest, meeting_id: str, invitation_id: int) -> Invitation:
    """One invitation of a meeting the signed-in host owns; 404 otherwise."""
    meeting = access_meeting(_staff(request), meeting_id)
    invitation = meeting.invitations.filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404
    return invitation


@login_required
@require_http_methods(["GET", "POST"])
def change_invitation(request: HttpRequest, meeting_id: str, invitation_id: int) -> HttpResponse:
    """Change who is invited. Changes to who consents ask for consent again."""
    invitation = _invitation(request, meeting_id, invitation_id)
    initial = {
        field: getattr(invitation, field)
        for field in ("name", "role", "parent_name", "parent_email", "needs_supervision")
    }
    form = InviteeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            changed = do_change_invitation(_staff(request), invitation, **form.cleaned_data)
        except InvitationError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _changed_message(invitation, changed))
            return redirect("meetings:detail", meeting_id=invitation.meeting.public_id)
    context = {"meeting": invitation.meeting, "invitation": invitation, "form": form}
    status = 400 if form.errors else 200
    return render(request, "meetings/change_invitation.html", context, status=status)


def _changed_message(invitation: Invitation, changed: list[str]) -> str:
    if not changed:
        return "Nothing changed."
    invitation.refresh_from_db()
    if any(field in ("role", "parent_email", "needs_supervision") for field in changed):
        return (
            f"{invitation.name}'s invitation is changed. We have asked for consent again; "
            "they cannot enter until it is given."
        )
    return f"{invitation.name}'s invitation is changed."


@login_required
@require_http_methods(["POST"])
def resend_invitation(request: HttpRequest, meeting_id: str, invitation_id: int) -> HttpResponse:
    """Send again what the person is waiting for."""
    invitation = _invitation(request, meeting_id, invitation_id)
    try:
        what = do_resend(_staff(request), invitation)
    except InvitationError as error:
        messages.error(request, str(error))
    else:
        if what == "consent":
            messages.success(
                request,
                f"We have sent the house rules again for {invitation.name}, with a new link. "
                "The link in the earlier email no longer works.",
            )
        else:
            messages.success(
                request,
                f"We have sent {invitation.name} a new link and passcode. "
                "The old ones no longer work.",
            )
    return redirect("meetings:detail", meeting_id=invitation.meeting.public_id)


@login_required
@require_http_methods(["POST"])
def revoke_invitation(request: HttpRequest, meeting_id: str, invitation_id: int) -> HttpResponse:
    """Cancel one person's invitation at once."""
    invitation = _invitation(request, meeting_id, invitation_id)
    try:
        do_revoke(_staff(request), invitation)
    except InvitationError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, f"{invitation.name}'s invitation is cancelled. It no longer works."
        )
    return redirect("meetings:detail", meeting_id=invitation.meeting.public_id)


@login_required
@require_http_methods(["POST"])
def unlock_passcode(request: HttpRequest, meeting_id: str, invitation_id: int) -> HttpResponse:
    """Let a person whose link paused after wrong passcodes try again now."""
    invitation = _invitation(request, meeting_id, invitation_id)
    if do_unlock_passcode(_staff(request), invitation):
        messages.success(
            request, f"{invitation.name}'s link works again. They can type the passcode now."
        )
    else:
        messages.success(request, f"{invitation.name}'s link was not paused. Nothing changed.")
    return redirect("meetings:detail", meeting_id=invitation.meeting.public_id)
