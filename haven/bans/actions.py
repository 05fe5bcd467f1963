"""Writes to bans: check, change, audit (rule S8, P2)."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from haven.accounts.models import User
from haven.accounts.permissions import Permission, has_permission
from haven.audit.log import Actor, pseudonym, record
from haven.bans.models import Ban
from haven.meetings.models import Meeting

# The latest review date anyone may choose: a ban is looked at again within two years.
REVIEW_AT_MOST_DAYS = 730
# Coordinators see a ban as due for review this many days before its date.
REVIEW_NOTICE_DAYS = 30


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
    ban = Ban.objects.select_for_update(no_key=True).get(pk=ban.pk)
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


def review_date_error(review_on: dt.date) -> str:
    """Why a chosen review date cannot be used, in plain words; "" if it can."""
    today = timezone.localdate()
    if review_on <= today:
        return "Choose a review date after today."
    if review_on > today + dt.timedelta(days=REVIEW_AT_MOST_DAYS):
        return f"Choose a review date within {REVIEW_AT_MOST_DAYS} days."
    return ""


def create_ban(
    meeting: Meeting, email: str, reason: str, banned_by: User, review_on: dt.date | None
) -> Ban:
    """Ban an address from the organisation's meetings (the host's `ban`, rule S8), to be
    reviewed by the chosen date or, by default, the policy's ban_review_days from today.
    Called inside the removal's transaction, which audits it."""
    if review_on is None:
        days = meeting.organisation.policy_in_force().ban_review_days
        review_on = timezone.localdate() + dt.timedelta(days=days)
    elif problem := review_date_error(review_on):
        raise BanError(problem)
    return Ban.objects.create(
        organisation=meeting.organisation,
        email=email,
        reason=reason,
        banned_by=banned_by,
        meeting=meeting,
        review_on=review_on,
    )


@transaction.atomic
def do_change_review(actor: User, ban: Ban, review_on: dt.date, reason: str) -> Ban:
    """A coordinator keeps a ban to a new review date (rule S8), saying why."""
    if not has_permission(actor, Permission.MANAGE_BANS):
        raise BanError("You cannot do that.")
    reason = reason.strip()
    if not reason:
        raise BanError("Please say why the ban should stay.")
    if problem := review_date_error(review_on):
        raise BanError(problem)
    ban = Ban.objects.select_for_update(no_key=True).get(pk=ban.pk)
    if ban.organisation_id != actor.organisation_id:
        raise BanError("You cannot do that.")
    if ban.lifted_at is not None:
        raise BanError("This ban is no longer in force.")
    before = ban.review_on
    ban.review_on = review_on
    ban.save(update_fields=["review_on"])
    record(
        "ban.review_changed",
        Actor.staff(actor),
        meeting=ban.meeting,
        ban_id=ban.pk,
        person=pseudonym(ban.email),
        review_before=before.isoformat(),
        review_on=review_on.isoformat(),
        notes={"reason": reason},
        about=pseudonym(ban.email),
    )
    return ban


def lapse_due_bans(now: dt.datetime | None = None) -> int:
    """End every ban whose review date has passed with nobody keeping it (rule S8): run
    by the retention job. Each is audited as `ban.lapsed`. Returns how many."""
    now = now or timezone.now()
    count = 0
    due = Ban.objects.filter(lifted_at__isnull=True, review_on__lt=timezone.localdate(now))
    for ban_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            ban = Ban.objects.select_for_update(no_key=True).get(pk=ban_id)
            if ban.lifted_at is not None:
                continue  # lifted meanwhile
            ban.lifted_at, ban.lapsed = now, True
            ban.save(update_fields=["lifted_at", "lapsed"])
            record(
                "ban.lapsed",
                Actor.system(),
                meeting=ban.meeting,
                ban_id=ban.pk,
                person=pseudonym(ban.email),
                review_on=ban.review_on.isoformat(),
            )
            count += 1
    return count
