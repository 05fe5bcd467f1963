from django.http import Http404

from haven.accounts.models import User
from haven.accounts.permissions import Permission, has_permission
from haven.meetings.models import Meeting


def access_meeting(user: User, meeting_id: str) -> Meeting:
    """A meeting the signed-in host owns. Missing, someone else's, or asked for by staff
    without the host role (U1, P2): all give the same 404."""
    if not has_permission(user, Permission.HOST_MEETINGS):
        raise Http404
    meeting = (
        Meeting.objects.select_related("meeting_type", "policy")
        .filter(public_id=meeting_id, host=user)
        .first()
    )
    if meeting is None:
        raise Http404
    return meeting
