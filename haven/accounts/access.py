"""Load staff accounts only through here: someone else's organisation looks missing."""

from django.http import Http404

from haven.accounts.models import User


def access_staff_member(viewer: User, staff_id: int) -> User:
    """A member of staff of the viewer's own organisation, or 404."""
    member = User.objects.filter(pk=staff_id, organisation_id=viewer.organisation_id).first()
    if member is None:
        raise Http404
    return member
