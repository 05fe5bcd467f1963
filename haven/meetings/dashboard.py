"""The host's dashboard, on the staff home page: their meetings, each invitee's consent
state and access needs, who is in a waiting room now (kept up to date by the page), and
the one form that schedules a meeting.

Read-only helpers; scheduling goes through the meetings form and action
(haven/meetings/forms.py, actions.py; the form posts to /meetings/).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from haven.accounts.models import User
from haven.consent.status import InviteeStatus, status_of
from haven.meetings.forms import MeetingForm
from haven.meetings.models import Meeting
from haven.room.models import Participant

PAST_SHOWN = 10


@dataclass(frozen=True)
class UpcomingMeeting:
    meeting: Meeting
    statuses: list[InviteeStatus]
    waiting: list[Participant]  # in the waiting room now (rule S2), oldest first


def schedule_form(user: User, data: Any = None) -> MeetingForm:
    """The one form that schedules a meeting: on the dashboard, posted to /meetings/."""
    meeting_types = user.organisation.policy_in_force().meeting_types.all()
    return MeetingForm(data, meeting_types=meeting_types)


def page(request: HttpRequest, user: User, form: MeetingForm, *, status: int = 200) -> HttpResponse:
    """The dashboard, for a host: also what a refused schedule form shows again."""
    context = {
        "hosts": True,
        "form": form,
        "upcoming": upcoming(user),
        "past": past(user),
    }
    return render(request, "accounts/staff_home.html", context, status=status)


def upcoming(user: User) -> list[UpcomingMeeting]:
    """The host's meetings not yet ended, soonest first."""
    meetings = (
        Meeting.objects.filter(host=user)
        .exclude(state=Meeting.State.ENDED)
        .select_related("meeting_type")
        .order_by("starts_at", "id")
    )
    found = []
    for meeting in meetings:
        rules = meeting.current_house_rules()
        invitations = meeting.invitations.filter(revoked_at__isnull=True)
        waiting = meeting.participants.filter(
            state=Participant.State.WAITING, invitation__isnull=False
        ).order_by("connected_at", "id")
        found.append(
            UpcomingMeeting(
                meeting, [status_of(each, rules) for each in invitations], list(waiting)
            )
        )
    return found


def past(user: User) -> list[Meeting]:
    """The host's ended or cancelled meetings, newest first."""
    ended = Meeting.objects.filter(host=user, state=Meeting.State.ENDED)
    return list(ended.select_related("meeting_type").order_by("-starts_at", "-id")[:PAST_SHOWN])
