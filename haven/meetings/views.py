from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from haven.invitations.actions import InvitationError, do_invite, do_revoke
from haven.meetings.access import access_meeting
from haven.meetings.actions import do_create_meeting
from haven.meetings.forms import InviteForm, MeetingForm
from haven.meetings.models import Meeting


@login_required
@require_http_methods(["GET", "POST"])
def meeting_list(request: HttpRequest) -> HttpResponse:
    """The host's meetings, and a form to schedule a new one."""
    user = request.user
    meeting_types = user.organisation.policy_in_force().meeting_types.all()  # type: ignore[union-attr]
    form = MeetingForm(request.POST or None, meeting_types=meeting_types)
    if request.method == "POST" and form.is_valid():
        meeting = do_create_meeting(user, **form.cleaned_data)  # type: ignore[arg-type]
        messages.success(request, f"“{meeting.title}” is scheduled. Now invite people to it.")
        return redirect("meetings:detail", meeting_id=meeting.public_id)
    meetings = Meeting.objects.filter(host=user).select_related("meeting_type")  # type: ignore[misc]
    return render(request, "meetings/list.html", {"form": form, "meetings": meetings})


@login_required
@require_http_methods(["GET", "POST"])
def meeting_detail(request: HttpRequest, meeting_id: str) -> HttpResponse:
    """One meeting: who is invited, a form to invite someone, the way into the room."""
    meeting = access_meeting(request.user, meeting_id)  # type: ignore[arg-type]
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = do_invite(request.user, meeting, **form.cleaned_data)  # type: ignore[arg-type]
        except InvitationError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"Invitation sent to {invitation.name}: one email with their link and "
                "another with their passcode.",
            )
            return redirect("meetings:detail", meeting_id=meeting.public_id)
    context = {"meeting": meeting, "form": form, "invitations": meeting.invitations.all()}
    return render(request, "meetings/detail.html", context)


@login_required
@require_http_methods(["POST"])
def revoke_invitation(request: HttpRequest, meeting_id: str, invitation_id: int) -> HttpResponse:
    """Cancel one person's link at once."""
    meeting = access_meeting(request.user, meeting_id)  # type: ignore[arg-type]
    invitation = meeting.invitations.filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404
    do_revoke(request.user, invitation)  # type: ignore[arg-type]
    messages.success(request, f"{invitation.name}'s link is cancelled. It no longer works.")
    return redirect("meetings:detail", meeting_id=meeting.public_id)
