"""The facts the assurance documents are written from (issue 19), all read from what Haven
holds: the policy in force and its retention periods, the personal-data registry, the
staff roles table, the organisation's staff and meetings, the rules and their tests.

Nothing here is a judgement only people can make (a lawful basis, a risk's likelihood):
the templates leave those as blanks marked "To be completed by the organisation".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils import timezone

from haven.accounts.models import RoleGrant
from haven.accounts.permissions import (
    ROLE_DESCRIPTIONS,
    ROLE_PERMISSIONS,
    Permission,
    StaffRole,
)
from haven.invitations.models import Invitation, Role
from haven.meetings.models import Meeting
from haven.policy.models import Organisation, PolicyVersion
from haven.subjects.registry import HOLDINGS, PERSONAL, SPECIAL, Erasure

# What each permission lets a member of staff do, in words (haven/accounts/permissions.py).
PERMISSION_WORDS = {
    Permission.HOST_MEETINGS: "Schedule and host their own meetings, and see who is invited",
    Permission.SEND_DOCUMENTS: "Email documents to people in their meetings",
    Permission.VIEW_POLICY: "Read the policy and its versions",
    Permission.MANAGE_POLICY: "Write and publish policy versions and house rules templates",
    Permission.VIEW_STAFF: "See staff accounts",
    Permission.MANAGE_STAFF: "Invite, change and deactivate staff accounts",
    Permission.VIEW_BANS: "See bans",
    Permission.MANAGE_BANS: "Keep or lift bans",
    Permission.VIEW_AUDIT: "Read the whole audit log",
    Permission.VIEW_ALL_MEETINGS: "See every meeting of the organisation",
    Permission.VIEW_EVIDENCE: "Read any meeting's compliance evidence",
    Permission.EXPORT_PERSONAL_DATA: "Export everything held about a person (subject access)",
    Permission.ERASE_PERSONAL_DATA: "Erase a person's data",
    Permission.VIEW_ASSURANCE: "Make these assurance documents",
}

# Each retention period of the policy: what it covers, and how it is counted.
RETENTION_WORDS: dict[str, tuple[str, str]] = {
    "retain_invitations_days": (
        "Invitations (name, email address, role; a child's parent or carer), and the "
        "emails asking for consent",
        "{} days after the meeting",
    ),
    "retain_consents_days": (
        "Agreements to the house rules, and who supervises",
        "{} days after the meeting",
    ),
    "retain_access_needs_days": ("Access needs given with a consent", "{} days after the meeting"),
    "end_unended_meetings_after_hours": (
        "The chat while a meeting runs",
        "Until the meeting ends, at most {} hours after its planned end; then kept as a "
        "transcript, encrypted, or destroyed",
    ),
    "retain_removals_days": ("Removals from a meeting: who, and why", "{} days"),
    "retain_lifted_bans_days": (
        "Bans: who, and why",
        "While the ban is in force, then {} days after it is lifted or ends",
    ),
    "retain_audit_days": ("The audit log (people named by pseudonym only)", "{} days"),
    "retain_audit_identities_days": (
        "Who each pseudonym in the audit log is",
        "{} days after the last entry about them",
    ),
    "retain_staff_sign_in_days": ("Staff sign-in sessions", "{} days after last use"),
    "retain_sign_in_failures_days": ("Failed staff sign-in attempts", "{} days"),
    "retain_meetings_days": (
        "Meetings: title, time, host, and who was in them when",
        "{} days after the meeting (longer only while its transcript is kept)",
    ),
    "retain_house_rules_days": (
        "Earlier versions of a meeting's house rules",
        "{} days after the meeting, and never while a consent to them is kept",
    ),
    "retain_destroyed_transcripts_days": (
        "The record that a transcript was destroyed (never its words)",
        "{} days after it was destroyed",
    ),
    "retain_audit_notes_days": (
        "Words written into the audit log, such as a reason for a removal",
        "{} days",
    ),
    "retain_emails_days": ("Copies of emails Haven sent, where it keeps them", "{} days"),
    "ban_review_days": (
        "How long a ban lasts unless a coordinator keeps it",
        "Reviewed within {} days of being made, or by the date the host chose; it ends "
        "by itself then",
    ),
}

# Records the registry reaches in a way of their own (SPECIAL), named for this document.
SPECIAL_TITLES = {
    "otp_static.StaticToken": "Recovery codes themselves",
    "sessions.Session": "Attendees' browser sessions",
    "records.Transcript": "Chat transcripts",
    "audit.AuditEvent": "Audit log entries",
    "audit.AuditIdentity": "Who each pseudonym in the audit log is",
}

ERASURE_WORDS = {
    Erasure.DELETE: "deleted",
    Erasure.BLANK: "emptied",
    Erasure.PSEUDONYMISE: "replaced by \u201cErased\u201d",
    Erasure.KEEP: "kept",
}


@dataclass(frozen=True)
class Period:
    key: str
    what: str
    kept_for: str


@dataclass(frozen=True)
class DataGroup:
    """One kind of record in the personal-data registry and its personal fields."""

    title: str
    model: str
    fields: list[str]
    on_erasure: str


@dataclass(frozen=True)
class RoleAccess:
    role: StaffRole
    description: str
    permissions: list[str]
    active_staff: int


@dataclass(frozen=True)
class Activity:
    """Numbers from the organisation's own records, for the scope of the processing."""

    since: dt.datetime
    meetings: int
    invitations_by_role: list[tuple[str, int]]
    meetings_held_now: int
    by_type: list[tuple[str, int]] = field(default_factory=list)


def retention_periods(policy: PolicyVersion) -> list[Period]:
    """The policy's retention periods in words, transcripts (per meeting type) first."""
    periods = [
        Period(
            f"transcript:{meeting_type.key}",
            f"Chat transcripts of {meeting_type.name} meetings, if the host keeps them (encrypted)",
            f"{meeting_type.transcript_retention_days} days after the meeting",
        )
        for meeting_type in policy.meeting_types.all()
    ]
    for key, (what, kept_for) in RETENTION_WORDS.items():
        periods.append(Period(key, what, kept_for.format(getattr(policy, key))))
    return periods


def personal_data() -> list[DataGroup]:
    """Every kind of record with personal fields, from the registry (rule D4)."""
    titles: dict[str, str] = {}
    for holding in HOLDINGS:
        titles.setdefault(holding.model, holding.title)
    groups = []
    for model, fields in PERSONAL.items():
        erasures = sorted({ERASURE_WORDS[personal.erasure] for personal in fields.values()})
        groups.append(
            DataGroup(
                SPECIAL_TITLES.get(model) or titles.get(model) or SPECIAL.get(model, model),
                model,
                [personal.what for personal in fields.values()],
                ", ".join(erasures),
            )
        )
    return groups


def role_access(organisation: Organisation) -> list[RoleAccess]:
    """Each staff role, what it may do (the one permission table), and how many active
    staff of the organisation hold it now."""
    held = dict(
        RoleGrant.objects.filter(user__organisation=organisation, user__is_active=True)
        .values_list("role")
        .annotate(count=Count("user", distinct=True))
    )
    return [
        RoleAccess(
            role,
            ROLE_DESCRIPTIONS[role],
            [PERMISSION_WORDS[permission] for permission in Permission if permission in granted],
            int(held.get(str(role), 0)),
        )
        for role, granted in ROLE_PERMISSIONS.items()
    ]


def activity(organisation: Organisation, now: dt.datetime | None = None) -> Activity:
    """How many meetings and invitations the organisation has had in the last year."""
    since = (now or timezone.now()) - dt.timedelta(days=365)
    meetings = Meeting.objects.filter(organisation=organisation, starts_at__gte=since)
    roles = dict(Role.choices)
    counts = dict(
        Invitation.objects.filter(meeting__in=meetings)
        .values_list("role")
        .annotate(count=Count("id"))
    )
    by_type = (
        meetings.values_list("meeting_type__name").annotate(count=Count("id")).order_by("-count")
    )
    return Activity(
        since,
        meetings.count(),
        [(label, int(counts.get(value, 0))) for value, label in roles.items()],
        meetings.filter(state=Meeting.State.LIVE).count(),
        [(str(name), int(count)) for name, count in by_type],
    )


def subject_roles() -> list[str]:
    """The kinds of people Haven holds data about (categories of data subjects)."""
    return [
        *(f"Invitees: {label.lower()}" for _value, label in Role.choices),
        "Parents and carers who consent for a child",
        "Supervising adults named in a consent",
        "Staff of the organisation",
    ]
