"""Writes to meetings: check, change, audit, and tell invitees after commit."""

import datetime as dt
from functools import partial

from django.db import transaction
from django.utils import timezone

from haven.accounts.models import User
from haven.accounts.permissions import Permission, has_permission
from haven.audit.log import Actor, record
from haven.consent.actions import request_consent
from haven.consent.models import ConsentRequest
from haven.invitations import emails, links
from haven.invitations.models import Invitation
from haven.meetings.models import HouseRules, Meeting
from haven.policy.models import MeetingType

DEFAULT_DURATION_MINUTES = 60


class MeetingError(Exception):
    """The change could not be made; the message says why in plain words."""


@transaction.atomic
def do_create_meeting(
    host: User,
    *,
    title: str,
    meeting_type: MeetingType,
    starts_at: dt.datetime,
    duration_minutes: int | None = None,
) -> Meeting:
    """Schedule a meeting under the policy version in force now (rule P1), with its
    type's house rules as version 1 (rule G1).

    Only staff with the host role host meetings (rule U1).
    """
    if not has_permission(host, Permission.HOST_MEETINGS):
        raise PermissionError("Only staff with the host role can schedule meetings.")
    policy = host.organisation.policy_in_force()
    if meeting_type.policy_id != policy.pk:
        raise ValueError("That meeting type belongs to another policy version.")
    meeting = Meeting.objects.create(
        organisation=host.organisation,
        host=host,
        policy=policy,
        meeting_type=meeting_type,
        title=title,
        starts_at=starts_at,
        duration_minutes=duration_minutes or DEFAULT_DURATION_MINUTES,
    )
    _add_house_rules(
        meeting, meeting_type.house_rules, meeting_type.house_rules_easy_read, created_by=None
    )
    record(
        "meeting.created",
        Actor.staff(host),
        meeting=meeting,
        policy_version=policy.version,
        meeting_type=meeting_type.key,
    )
    return meeting


def _add_house_rules(
    meeting: Meeting, text: str, easy_read: str, created_by: User | None
) -> HouseRules:
    latest = meeting.house_rules.order_by("-version").first()
    return HouseRules.objects.create(
        meeting=meeting,
        version=latest.version + 1 if latest else 1,
        text=text,
        easy_read=easy_read,
        sha256=HouseRules.digest(text, easy_read),
        created_by=created_by,
    )


def _lock_for_host(host: User, meeting: Meeting) -> Meeting:
    meeting = Meeting.lock(meeting.pk)
    if meeting.host_id != host.pk:
        raise MeetingError("Only the meeting's host can change it.")
    if not meeting.is_open:
        raise MeetingError("This meeting has ended or is cancelled. It cannot change now.")
    return meeting


def _active_invitations(meeting: Meeting) -> list[Invitation]:
    return list(meeting.invitations.filter(revoked_at__isnull=True).select_for_update(no_key=True))


@transaction.atomic
def do_change_house_rules(
    host: User, meeting: Meeting, *, text: str, easy_read: str
) -> HouseRules | None:
    """Store a new version of the meeting's house rules (G1); None if nothing changed.

    Consent to an earlier version no longer counts: everyone invited is asked again, and
    nobody enters until they agree to the new version.
    """
    meeting = _lock_for_host(host, meeting)
    current = meeting.current_house_rules()
    if HouseRules.digest(text, easy_read) == current.sha256:
        return None
    rules = _add_house_rules(meeting, text, easy_read, created_by=host)
    actor = Actor.staff(host)
    record(
        "house_rules.changed",
        actor,
        meeting=meeting,
        version=rules.version,
        sha256=rules.sha256,
    )
    for invitation in _active_invitations(meeting):
        request_consent(invitation, ConsentRequest.Reason.RULES_CHANGED, actor)
    return rules


@transaction.atomic
def do_change_time(
    host: User, meeting: Meeting, *, starts_at: dt.datetime, duration_minutes: int
) -> bool:
    """Move a scheduled meeting; invitees get the new time and a calendar update with a
    higher SEQUENCE (D2). Returns False if nothing changed."""
    meeting = _lock_for_host(host, meeting)
    if meeting.state != Meeting.State.SCHEDULED:
        raise MeetingError("The meeting has started. Its time cannot change now.")
    if meeting.starts_at == starts_at and meeting.duration_minutes == duration_minutes:
        return False
    before = meeting.starts_at
    meeting.starts_at, meeting.duration_minutes = starts_at, duration_minutes
    meeting.save(update_fields=["starts_at", "duration_minutes"])
    record(
        "meeting.time_changed",
        Actor.staff(host),
        meeting=meeting,
        starts_before=before.isoformat(),
        starts_at=starts_at.isoformat(),
        duration_minutes=duration_minutes,
    )
    for invitation in _active_invitations(meeting):
        invitation.meeting = meeting
        invitation.expires_at = links.link_expiry(meeting)
        invitation.calendar_sequence += 1
        invitation.save(update_fields=["expires_at", "calendar_sequence"])
        transaction.on_commit(partial(emails.send_meeting_changed, invitation))
    return True


@transaction.atomic
def do_cancel_meeting(host: User, meeting: Meeting) -> None:
    """Cancel a meeting that has not started: every link stops working, and invitees are
    told, with METHOD:CANCEL for their calendar event (D2)."""
    meeting = _lock_for_host(host, meeting)
    if meeting.state != Meeting.State.SCHEDULED:
        raise MeetingError("The meeting has started. End it from the meeting room instead.")
    now = timezone.now()
    meeting.state, meeting.cancelled_at, meeting.ended_at = Meeting.State.ENDED, now, now
    meeting.save(update_fields=["state", "cancelled_at", "ended_at"])
    record("meeting.cancelled", Actor.staff(host), meeting=meeting)
    for invitation in _active_invitations(meeting):
        invitation.meeting = meeting
        invitation.calendar_sequence += 1
        invitation.save(update_fields=["calendar_sequence"])
        transaction.on_commit(partial(emails.send_cancelled, invitation, whole_meeting=True))
