"""Destroy every kind of personal data whose retention period has ended (rule D3).

The periods are policy data (`[retention]` in the policy file, PolicyVersion fields;
transcripts per meeting type). `run_retention` is the one job: `manage.py destroy_expired`
runs it from cron and `manage.py serve` runs it on a schedule. It is idempotent: a second
run finds nothing more to destroy. Each run is audited with its counts, never content.

Which policy decides:
- meeting records (invitations, consents, access needs, removals, house rules versions,
  records of destroyed transcripts, the meeting itself, ending a meeting its host never
  ended): the policy version the meeting records (P1), so what the privacy notice
  promised that attendee holds;
- bans, audit notes and staff sign-in records: their organisation's policy in force;
- records of no one organisation (audit events, audit identities, sign-in failures,
  emails): the longest period among the organisations' policies in force.
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from haven.accounts.models import StaffSession, StaffSetupLink
from haven.audit import log as audit
from haven.audit.log import Actor, record
from haven.audit.models import AuditNote
from haven.bans.actions import lapse_due_bans
from haven.bans.models import Ban, Removal
from haven.chat.models import ChatMessage
from haven.consent.models import Consent, ConsentRequest
from haven.invitations import guessing
from haven.invitations.models import Invitation
from haven.meetings.models import HouseRules, Meeting
from haven.policy.models import Organisation, PolicyVersion
from haven.records.actions import destroy_expired_transcripts
from haven.records.models import Transcript

if TYPE_CHECKING:
    from django.db.models import QuerySet

logger = logging.getLogger(__name__)

# Each kind the job counts, in the order it runs, with words for people.
KINDS = {
    "meetings_ended": "meetings ended that their host never ended",
    "chat_messages": "chat messages taken out of the database in clear",
    "transcripts": "transcripts destroyed (key and ciphertext)",
    "access_needs": "consents whose access needs were cleared",
    "consents": "consents",
    "invitations": "invitations (with their consent links)",
    "removals": "removals from a meeting",
    "house_rules": "earlier house rules versions of meetings",
    "destroyed_transcripts": "records of destroyed transcripts",
    "meetings": "meetings (with their participants and anything left of them)",
    "bans_lapsed": "bans that ended by themselves at their review date",
    "bans": "lifted bans",
    "audit_notes": "words written into the audit log (reasons, document names)",
    "audit_events": "audit events",
    "audit_identities": "audit identities (who a pseudonym is)",
    "staff_sessions": "staff sessions",
    "staff_setup_links": "staff set-up links",
    "sign_in_failures": "sign-in failures",
    "emails": "saved copies of sent emails",
}

ACCESS_NEEDS_CLEARED = {
    "need_interpreter": False,
    "interpreter_language": "",
    "need_captions": False,
    "need_easy_read": False,
    "need_breaks": False,
    "other_needs": "",
    "show_on_screen": "",
}
HAS_ACCESS_NEEDS = (
    Q(need_interpreter=True)
    | ~Q(interpreter_language="")
    | Q(need_captions=True)
    | Q(need_easy_read=True)
    | Q(need_breaks=True)
    | ~Q(other_needs="")
    | ~Q(show_on_screen="")
)


@dataclass
class RetentionRun:
    """What one run did: counts per kind, and the media rooms of meetings it ended."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    ended_rooms: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def run_retention(trigger: str, now: dt.datetime | None = None) -> RetentionRun:
    """Destroy everything past its retention period, and audit the run."""
    now = now or timezone.now()
    run = RetentionRun()
    _end_unended_meetings(run, now)
    run.counts["transcripts"] = destroy_expired_transcripts(timezone.localdate(now))
    for version in PolicyVersion.objects.all():
        _meeting_records(run, version, now)
    run.counts["bans_lapsed"] = lapse_due_bans(now)
    for organisation in Organisation.objects.all():
        _organisation_records(run, organisation.policy_in_force(), now)
    _shared_records(run, now)
    _check_audit_chain(run, trigger)
    with transaction.atomic():
        record(
            "retention.ran",
            Actor.system(),
            trigger=trigger,
            counts=run.counts,
            problems=run.problems,
        )
    return run


def _days_before(now: dt.datetime, days: int) -> dt.datetime:
    return now - dt.timedelta(days=days)


def _deleted(result: tuple[int, dict[str, int]], label: str) -> int:
    return result[1].get(label, 0)


def _end_unended_meetings(run: RetentionRun, now: dt.datetime) -> None:
    # Imported here: the room app imports records (a meeting's end closes its chat).
    from haven.room.actions import do_end_unended_meeting

    for version in PolicyVersion.objects.all():
        grace = dt.timedelta(hours=version.end_unended_meetings_after_hours)
        candidates = Meeting.objects.filter(policy=version, starts_at__lt=now - grace).exclude(
            state=Meeting.State.ENDED
        )
        for meeting in candidates:
            if meeting.ends_at + grace >= now:
                continue
            messages = do_end_unended_meeting(meeting)
            if messages is not None:
                run.counts["chat_messages"] += messages
                run.counts["meetings_ended"] += 1
                run.ended_rooms.append(meeting.room_key)
    # A safety net: an ended meeting's chat became its transcript in the same transaction,
    # so rows here could only be a message that raced the end. Never kept in clear.
    with transaction.atomic():
        stray = ChatMessage.objects.filter(meeting__state=Meeting.State.ENDED)
        run.counts["chat_messages"] += _deleted(stray.delete(), "chat.ChatMessage")


@transaction.atomic
def _meeting_records(run: RetentionRun, version: PolicyVersion, now: dt.datetime) -> None:
    """Records of meetings that record this policy version, counted from the meeting's end."""

    def ended_before(days: int, path: str) -> Q:
        return Q(**{f"{path}policy": version, f"{path}ended_at__lt": _days_before(now, days)})

    needs = Consent.objects.filter(
        ended_before(version.retain_access_needs_days, "invitation__meeting__")
    ).filter(HAS_ACCESS_NEEDS)
    run.counts["access_needs"] += needs.update(**ACCESS_NEEDS_CLEARED)

    consents_over = ended_before(version.retain_consents_days, "invitation__meeting__")
    run.counts["consents"] += _deleted(
        Consent.objects.filter(consents_over).delete(), "consent.Consent"
    )
    # The consent links sent (who to, when) go with the agreements.
    ConsentRequest.objects.filter(consents_over).delete()

    invitations = Invitation.objects.filter(
        ended_before(version.retain_invitations_days, "meeting__")
    )
    run.counts["invitations"] += _deleted(invitations.delete(), "invitations.Invitation")

    removals = Removal.objects.filter(
        meeting__policy=version,
        created_at__lt=_days_before(now, version.retain_removals_days),
    )
    run.counts["removals"] += _deleted(removals.delete(), "bans.Removal")

    run.counts["house_rules"] += _deleted(
        _expired_house_rules(version, _days_before(now, version.retain_house_rules_days)).delete(),
        "meetings.HouseRules",
    )
    destroyed = Transcript.objects.filter(
        meeting__policy=version,
        destroyed_at__lt=_days_before(now, version.retain_destroyed_transcripts_days),
    )
    run.counts["destroyed_transcripts"] += _deleted(destroyed.delete(), "records.Transcript")
    # The meeting row goes last, with whatever is left of it (its participants, the
    # version of its house rules in force at the end). Never while its transcript is kept:
    # deleting the meeting would take the transcript with it before its date.
    meetings = Meeting.objects.filter(
        policy=version,
        state=Meeting.State.ENDED,
        ended_at__lt=_days_before(now, version.retain_meetings_days),
    ).exclude(transcript__destroyed_at__isnull=True, transcript__isnull=False)
    run.counts["meetings"] += _deleted(meetings.delete(), "meetings.Meeting")


def _expired_house_rules(
    version: PolicyVersion, ended_before: dt.datetime
) -> "QuerySet[HouseRules]":
    """House rules versions of meetings that ended before then, except a version an
    agreement or a consent link still names (never deleted under it: rule G1's record of
    what was agreed) and each meeting's version in force at its end (which stays with the
    meeting, whose pages show it)."""
    newest = (
        HouseRules.objects.filter(meeting=OuterRef("meeting"))
        .order_by("-version")
        .values("version")[:1]
    )
    return (
        HouseRules.objects.filter(meeting__policy=version, meeting__ended_at__lt=ended_before)
        .exclude(version=Subquery(newest))
        .exclude(pk__in=Consent.objects.values("house_rules"))
        .exclude(pk__in=ConsentRequest.objects.values("house_rules"))
    )


@transaction.atomic
def _organisation_records(run: RetentionRun, policy: PolicyVersion, now: dt.datetime) -> None:
    organisation = policy.organisation
    # A ban in force is kept while it is in force: lifting it is a coordinator's decision.
    lifted = Ban.objects.filter(
        organisation=organisation,
        lifted_at__lt=_days_before(now, policy.retain_lifted_bans_days),
    )
    run.counts["bans"] += _deleted(lifted.delete(), "bans.Ban")
    notes = AuditNote.objects.filter(
        organisation=organisation,
        created_at__lt=_days_before(now, policy.retain_audit_notes_days),
    )
    run.counts["audit_notes"] += _deleted(notes.delete(), "audit.AuditNote")
    staff_cutoff = _days_before(now, policy.retain_staff_sign_in_days)
    sessions = StaffSession.objects.filter(
        user__organisation=organisation, last_seen_at__lt=staff_cutoff
    )
    run.counts["staff_sessions"] += _deleted(sessions.delete(), "accounts.StaffSession")
    links = StaffSetupLink.objects.filter(
        user__organisation=organisation, expires_at__lt=staff_cutoff
    )
    run.counts["staff_setup_links"] += _deleted(links.delete(), "accounts.StaffSetupLink")


def _longest(policies: list[PolicyVersion], period: Callable[[PolicyVersion], int]) -> int:
    return max(period(policy) for policy in policies)


def _shared_records(run: RetentionRun, now: dt.datetime) -> None:
    """Records of no one organisation: kept for the longest period any policy asks."""
    with transaction.atomic():
        # Expired browser sessions (staff and attendees) are never used again.
        Session.objects.filter(expire_date__lt=now).delete()
        # Wrong-passcode counts per address (hashed) whose window and pause are over.
        guessing.forget_old_rows(now)
    policies = [organisation.policy_in_force() for organisation in Organisation.objects.all()]
    if not policies:
        return
    audit_cutoff = _days_before(now, _longest(policies, lambda p: p.retain_audit_days))
    try:
        run.counts["audit_events"] = audit.expire_events(audit_cutoff)
    except audit.ExpiryRefused as refused:
        problem = f"Old audit events were kept: the audit log is broken at {refused}."
        logger.error(problem)
        run.problems.append(problem)
    # Notes of no organisation (none is written so today) by the longest period.
    notes_cutoff = _days_before(now, _longest(policies, lambda p: p.retain_audit_notes_days))
    with transaction.atomic():
        orphans = AuditNote.objects.filter(organisation__isnull=True, created_at__lt=notes_cutoff)
        run.counts["audit_notes"] += _deleted(orphans.delete(), "audit.AuditNote")
    identities = _longest(policies, lambda p: p.retain_audit_identities_days)
    with transaction.atomic():
        run.counts["audit_identities"] = audit.expire_identities(_days_before(now, identities))
    failures = _days_before(now, _longest(policies, lambda p: p.retain_sign_in_failures_days))
    with transaction.atomic():
        attempts = AccessAttempt.objects.filter(attempt_time__lt=failures).delete()
        logs = AccessFailureLog.objects.filter(attempt_time__lt=failures).delete()
        run.counts["sign_in_failures"] = _deleted(attempts, "axes.AccessAttempt") + _deleted(
            logs, "axes.AccessFailureLog"
        )
    emails = _days_before(now, _longest(policies, lambda p: p.retain_emails_days))
    run.counts["emails"] = _destroy_saved_emails(emails)


# The evidence page checks only what was appended since its checkpoint; a change before it
# is found by a full check: every run from cron, and the server's own job once a day.
FULL_AUDIT_CHECK_EVERY = dt.timedelta(hours=23)


def _check_audit_chain(run: RetentionRun, trigger: str) -> None:
    if trigger != "command" and not audit.full_check_due(FULL_AUDIT_CHECK_EVERY):
        return
    _checked, broken = audit.verify_chain()
    if broken is not None:
        where = f"entry {broken.event_id}" if broken.event_id else "the end of the log"
        problem = f"The audit log's full check found it broken at {where}: {broken.reason}."
        logger.error(problem)
        run.problems.append(problem)


def _destroy_saved_emails(before: dt.datetime) -> int:
    """The outbox email backend's .eml copies (one-machine trials) older than `before`."""
    outbox = settings.HAVEN_OUTBOX_DIR
    if not outbox.is_dir():
        return 0
    count = 0
    for path in outbox.glob("*.eml"):
        if path.stat().st_mtime < before.timestamp():
            path.unlink(missing_ok=True)
            count += 1
    return count
