"""Load bans only through here: another organisation's ban looks missing (rule P2)."""

from django.http import Http404

from haven.accounts.models import User
from haven.bans.models import Ban


def access_ban(viewer: User, ban_id: int) -> Ban:
    """A ban of the viewer's own organisation, or 404 (missing and forbidden look alike)."""
    ban = (
        Ban.objects.select_related("banned_by", "lifted_by", "meeting")
        .filter(pk=ban_id, organisation_id=viewer.organisation_id)
        .first()
    )
    if ban is None:
        raise Http404
    return ban
