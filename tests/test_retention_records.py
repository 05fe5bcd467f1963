"""Rule D3 for what belongs to a meeting once it is over: the meeting row itself, its
house rules versions, the record that its transcript was destroyed, and the words written
into the audit log. Each has a period in the policy data and `destroy_expired`'s job
destroys it when the period ends, and not before.

Unit tests on Django's test database: there is no clock to move, so each row's time is
moved into the past instead.
"""

import datetime as dt
import tomllib

import pytest
from django.utils import timezone

from haven.audit.log import Actor, record, verify_chain
from haven.audit.models import AuditNote
from haven.consent.models import Consent, ConsentRequest
from haven.invitations.models import Invitation
from haven.meetings.actions import do_create_meeting
from haven.meetings.models import HouseRules, Meeting
from haven.policy.loader import DEFAULT_POLICY_FILE, load_policy
from haven.policy.models import PolicyVersion
from haven.records.models import Transcript
from haven.records.retention import run_retention
from tests.harness.unit import scheduled_meeting

RETENTION = tomllib.loads(DEFAULT_POLICY_FILE.read_text())["retention"]


def _days_ago(days: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def _ended(title: str, days_ago: float, host_meeting: Meeting) -> Meeting:
    """Another meeting of the same host, ended `days_ago`."""
    meeting = do_create_meeting(
        host_meeting.host,
        title=title,
        meeting_type=host_meeting.meeting_type,
        starts_at=timezone.now() + dt.timedelta(days=1),
    )
    when = _days_ago(days_ago)
    Meeting.objects.filter(pk=meeting.pk).update(
        state=Meeting.State.ENDED, starts_at=when - dt.timedelta(hours=1), ended_at=when
    )
    meeting.refresh_from_db()
    return meeting


def _add_versions(meeting: Meeting, count: int) -> list[HouseRules]:
    for number in range(count):
        text = f"- Rule {number}"
        HouseRules.objects.create(
            meeting=meeting,
            version=meeting.house_rules.count() + 1,
            text=text,
            easy_read=text,
            sha256=HouseRules.digest(text, text),
        )
    return list(meeting.house_rules.order_by("version"))


def _agreed_to(rules: HouseRules) -> Consent:
    meeting = rules.meeting
    invitation = Invitation.objects.create(
        meeting=meeting,
        name="Sam Carter",
        email=f"sam-{meeting.pk}@example.org",
        role="parent_carer",
        expires_at=meeting.starts_at,
        invited_by=meeting.host,
    )
    request = ConsentRequest.objects.create(
        invitation=invitation,
        token_sha256=f"{meeting.pk:064d}",
        house_rules=rules,
        sent_to=invitation.email,
        reason=ConsentRequest.Reason.INVITED,
    )
    return Consent.objects.create(
        invitation=invitation,
        request=request,
        house_rules=rules,
        rules_version=rules.version,
        rules_sha256=rules.sha256,
        given_by_name="Sam Carter",
        given_by_email=invitation.email,
        on_behalf_of_child=False,
    )


def _transcript(meeting: Meeting, *, destroyed_days_ago: float | None) -> Transcript:
    destroyed = None if destroyed_days_ago is None else _days_ago(destroyed_days_ago)
    return Transcript.objects.create(
        meeting=meeting,
        message_count=3,
        retain_until=timezone.localdate() + dt.timedelta(days=30),
        destroyed_at=destroyed,
        destroyed_because="host_chose" if destroyed else "",
    )


@pytest.mark.django_db
def test_D3_the_policy_data_gives_the_new_periods():
    policy = load_policy()
    assert policy.retain_meetings_days == RETENTION["meetings_days"] == 730
    assert policy.retain_house_rules_days == RETENTION["house_rules_days"] == 365
    assert policy.retain_destroyed_transcripts_days == RETENTION["destroyed_transcripts_days"]
    assert policy.retain_audit_notes_days == RETENTION["audit_notes_days"] == 365


@pytest.mark.django_db
def test_D3_meetings_are_destroyed_past_their_period_but_never_with_a_kept_transcript():
    days = RETENTION["meetings_days"]
    first = scheduled_meeting()
    old = _ended("Long ago", days + 1, first)
    recent = _ended("Not so long ago", days - 1, first)
    kept_transcript = _ended("Transcript still kept", days + 100, first)
    _transcript(kept_transcript, destroyed_days_ago=None)
    left = Invitation.objects.create(
        meeting=old,
        name="Left behind",
        email="left@example.org",
        role="professional",
        expires_at=old.starts_at,
        invited_by=old.host,
    )

    run = run_retention("command")

    assert not Meeting.objects.filter(pk=old.pk).exists()
    assert not HouseRules.objects.filter(meeting_id=old.pk).exists()
    assert not Invitation.objects.filter(pk=left.pk).exists()
    assert Meeting.objects.filter(pk__in=[recent.pk, kept_transcript.pk, first.pk]).count() == 3
    assert Transcript.objects.filter(meeting=kept_transcript).exists()
    assert run.counts["meetings"] == 1
    assert verify_chain()[1] is None  # the audit log's links to the meeting just go
    assert run_retention("command").counts["meetings"] == 0


@pytest.mark.django_db
def test_D3_house_rules_versions_go_past_their_period_but_never_one_a_consent_names():
    days = RETENTION["house_rules_days"]
    first = scheduled_meeting()
    # A policy that keeps agreements longer than house rules versions.
    PolicyVersion.objects.filter(pk=first.policy_id).update(
        retain_consents_days=days + 100, retain_invitations_days=days + 100
    )
    old = _ended("Long ago", days + 1, first)
    v1, v2, v3, v4 = _add_versions(old, 3)
    _agreed_to(v2)
    recent = _ended("Last month", days - 1, first)
    recent_versions = _add_versions(recent, 2)

    run = run_retention("command")

    # v1 and v3 are past their period; v2 is named by an agreement still kept; v4 was in
    # force at the end and stays with the meeting.
    assert list(old.house_rules.values_list("version", flat=True)) == [2, 4]
    assert old.current_house_rules() == v4
    assert list(recent.house_rules.all()) == recent_versions
    assert run.counts["house_rules"] == 2
    # Once the agreement itself has gone (its own period), so does the version it named.
    Consent.objects.all().delete()
    ConsentRequest.objects.all().delete()
    assert run_retention("command").counts["house_rules"] == 1
    assert list(old.house_rules.values_list("version", flat=True)) == [4]
    assert not HouseRules.objects.filter(pk__in=[v1.pk, v2.pk, v3.pk]).exists()


@pytest.mark.django_db
def test_D3_the_record_of_a_destroyed_transcript_goes_past_its_period():
    days = RETENTION["destroyed_transcripts_days"]
    first = scheduled_meeting()
    old = _transcript(_ended("Destroyed long ago", 1, first), destroyed_days_ago=days + 1)
    recent = _transcript(_ended("Destroyed lately", 1, first), destroyed_days_ago=days - 1)
    kept = _transcript(_ended("Kept", 1, first), destroyed_days_ago=None)

    run = run_retention("command")

    assert not Transcript.objects.filter(pk=old.pk).exists()
    assert set(Transcript.objects.values_list("pk", flat=True)) == {recent.pk, kept.pk}
    assert run.counts["destroyed_transcripts"] == 1
    assert Meeting.objects.filter(pk=old.meeting_id).exists()  # the meeting has its own period


@pytest.mark.django_db
def test_D3_audit_notes_go_past_their_period_and_the_chain_still_verifies():
    days = RETENTION["audit_notes_days"]
    meeting = scheduled_meeting()
    for words in ("Old words", "New words"):
        record("test.noted", Actor.staff(meeting.host), meeting=meeting, notes={"why": words})
    AuditNote.objects.filter(text="Old words").update(created_at=_days_ago(days + 1))
    AuditNote.objects.filter(text="New words").update(created_at=_days_ago(days - 1))

    run = run_retention("command")

    assert list(AuditNote.objects.values_list("text", flat=True)) == ["New words"]
    assert run.counts["audit_notes"] == 1
    assert verify_chain()[1] is None
