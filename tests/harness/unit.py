"""Objects for the unit tests, which use Django's test database (not the live stack)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from haven.accounts.models import RoleGrant, User
from haven.accounts.permissions import StaffRole
from haven.meetings.actions import do_create_meeting
from haven.meetings.models import Meeting
from haven.policy.loader import load_policy


def scheduled_meeting() -> Meeting:
    """A one-to-one meeting tomorrow, hosted by a new host of the loaded V.01 policy."""
    policy = load_policy()
    host = User.objects.create_user(
        email="host@example.org",
        full_name="Alex Morgan",
        job_title="IASS Officer",
        organisation=policy.organisation,
    )
    RoleGrant.objects.create(user=host, role=StaffRole.HOST)
    return do_create_meeting(
        host,
        title="Review",
        meeting_type=policy.meeting_types.get(key="one_to_one"),
        starts_at=timezone.now() + dt.timedelta(days=1),
    )
