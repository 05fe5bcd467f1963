from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from haven.room.access import access_room


def room(request: HttpRequest, meeting_id: str) -> HttpResponse:
    """The meeting page, for its host or an invitee who entered their passcode."""
    identity = access_room(request.user, request.session, meeting_id)
    if identity is None:
        raise Http404
    meeting = identity.meeting
    context = {
        "meeting": meeting,
        "is_host": identity.user is not None,
        "participant_name": identity.name,
        "ws_path": f"/ws/meetings/{meeting.public_id}/",
        "host_name": meeting.host.full_name,
        "host_job_title": meeting.host.job_title,
        "staff_page_url": meeting.policy.staff_page_url,
        "policy": meeting.policy,
        # Shown again in the waiting room (rule G1).
        "house_rules": meeting.current_house_rules(),
    }
    return render(request, "room/room.html", context)
