"""Writes to bans: check, change, audit (rule S8, P2)."""

from django.db import transaction
from django.utils import timezone

from haven.accounts.models import User
from haven.accounts.permissions import Permission, has_permission
from haven.audit.log import Actor, pseudonym, record
from haven.bans.models import Ban


class BanError(Exception):
    """The change was refused; the message says why in plain words."""


@transaction.atomic
def do_lift_ban(actor: User, ban: Ban, reason: str) -> Ban:
    """Lift a ban so the person can be invited again. Removals from single meetings stay.

    The audit row names the person only by their pseudonym, never their email address."""
    if not has_permission(actor, Permission.MANAGE_BANS):
        raise BanError("You cannot do that.")
    reason = reason.strip()
    if not reason:
        raise BanError("Please say why you are lifting this ban.")
    # Lock the row so two people lifting at once cannot both succeed.
    ban = Ban.objects.select_for_update().get(pk=ban.pk)
    if ban.organisation_id != actor.organisation_id:
        raise BanError("You cannot do that.")
    if ban.lifted_at is not None:
        raise BanError("This ban has already been lifted.")
    ban.lifted_at = timezone.now()
    ban.lifted_by = actor
    ban.lift_reason = reason
    ban.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    record(
        "ban.lifted",
        Actor.staff(actor),
        meeting=ban.meeting,
        ban_id=ban.pk,
        person=pseudonym(ban.email),
        notes={"reason": reason},
        about=pseudonym(ban.email),
    )
    return ban
