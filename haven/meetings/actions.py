"""Writes to meetings: check, change, audit."""

import datetime as dt

from django.db import transaction

from haven.accounts.models import User
from haven.accounts.permissions import Permission, has_permission
from haven.audit.log import Actor, record
from haven.meetings.models import Meeting
from haven.policy.models import MeetingType


@transaction.atomic
def do_create_meeting(
    host: User, *, title: str, meeting_type: MeetingType, starts_at: dt.datetime
) -> Meeting:
    """Schedule a meeting under the policy version in force now (rule P1).

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
    )
    record(
        "meeting.created",
        Actor.staff(host),
        meeting=meeting,
        policy_version=policy.version,
        meeting_type=meeting_type.key,
    )
    return meeting
