from django.http import Http404

from haven.accounts.models import User
from haven.meetings.models import Meeting


def access_meeting(user: User, meeting_id: str) -> Meeting:
    """A meeting the signed-in host owns. Missing and someone else's both give 404."""
    meeting = (
        Meeting.objects.select_related("meeting_type", "policy")
        .filter(public_id=meeting_id, host=user)
        .first()
    )
    if meeting is None:
        raise Http404
    return meeting
