"""Rules D5 and D4: free text is kept out of the audit log's hash chain, so erasure can
delete it and the chain still verifies; and the evidence page checks the chain from a
checkpoint, so its cost follows what was appended since, not the size of the log.

Unit tests on Django's test database (SQLite, or PostgreSQL with
HAVEN_TEST_DATABASE=postgres).
"""

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import timezone

from haven.accounts.models import RoleGrant, User
from haven.accounts.permissions import StaffRole
from haven.audit import log
from haven.audit.evidence import evidence_for
from haven.audit.log import Actor, commitment, record, verify_chain, verify_recent
from haven.audit.models import AuditCheckpoint, AuditEvent, AuditNote
from haven.bans.actions import do_lift_ban
from haven.bans.models import Ban
from haven.invitations.models import Invitation
from haven.meetings.models import Meeting
from haven.policy.rules import Role
from haven.records.retention import run_retention
from haven.room import actions
from haven.room.access import Identity
from haven.room.models import Participant
from haven.subjects.access import build as subject_access
from haven.subjects.erasure import do_erase
from tests.harness.unit import scheduled_meeting

SAM = "sam@example.org"
BAN_REASON = "Shouted at Jo Bloggs, Sam's sister, about her school place"
LIFT_REASON = "Sam apologised to Jo Bloggs at the review"


def _live_meeting_with_sam() -> tuple[Meeting, Participant, Identity]:
    meeting = scheduled_meeting()
    Meeting.objects.filter(pk=meeting.pk).update(state=Meeting.State.LIVE)
    meeting.refresh_from_db()
    invitation = Invitation.objects.create(
        meeting=meeting,
        name="Sam Carter",
        email=SAM,
        role="parent_carer",
        expires_at=meeting.starts_at + dt.timedelta(days=1),
        invited_by=meeting.host,
    )
    admitted = Participant.State.ADMITTED
    host = Participant.objects.create(
        public_id="p_host", meeting=meeting, user=meeting.host, name="Alex", state=admitted
    )
    Participant.objects.create(
        public_id="p_sam", meeting=meeting, invitation=invitation, name="Sam", state=admitted
    )
    return meeting, host, Identity(meeting, Role.HOST, "Alex Morgan", user=meeting.host)


def _coordinator(meeting: Meeting) -> User:
    coordinator = User.objects.create_user(
        email="coord@example.org",
        full_name="Chris Lee",
        job_title="Digital coordinator",
        organisation=meeting.organisation,
    )
    RoleGrant.objects.create(user=coordinator, role=StaffRole.COORDINATOR)
    return coordinator


def _everything_chained() -> str:
    return json.dumps([event.details for event in AuditEvent.objects.all()])


def _section(meeting: Meeting, key: str) -> Any:
    return next(s for s in evidence_for(meeting).sections if s.key == key)


@pytest.mark.django_db
def test_D5_D4_a_ban_reason_is_an_erasable_note_and_the_chain_verifies_after_erasure():
    meeting, host, identity = _live_meeting_with_sam()
    actions.do_remove(host, identity, "p_sam", BAN_REASON, ban=True)
    coordinator = _coordinator(meeting)
    do_lift_ban(coordinator, Ban.objects.get(email=SAM), LIFT_REASON)

    # The chained rows hold a note's id and a salted commitment, never the words.
    banned = AuditEvent.objects.get(action="room.banned")
    lifted = AuditEvent.objects.get(action="ban.lifted")
    assert "Jo Bloggs" not in _everything_chained()
    for event, words in ((banned, BAN_REASON), (lifted, LIFT_REASON)):
        reference = event.details["reason"]
        note = AuditNote.objects.get(pk=reference["note"])
        assert note.text == words and note.subject_ref == banned.subject_ref
        assert reference["sha256"] == commitment(note.salt, words)
    facts = " ".join(fact.text for fact in _section(meeting, "removals").facts)
    assert f"Reason: {BAN_REASON}" in facts
    # A subject access finds the words; erasure deletes them.
    report = subject_access(coordinator, SAM)
    notes = next(found for found in report.found if found.holding.key == "audit_notes")
    assert sorted(row["text"] for row in notes.rows) == sorted([BAN_REASON, LIFT_REASON])

    do_erase(coordinator, SAM, "Sam asked us to erase their data")

    assert not AuditNote.objects.filter(text__contains="Jo Bloggs").exists()
    assert verify_chain() == (AuditEvent.objects.count(), None)
    assert verify_recent().broken is None
    removals = _section(meeting, "removals")
    assert "A reason was recorded; it has since been erased." in removals.facts[0].text
    assert not removals.warnings  # erased is not missing
    assert not any(f.holding.key == "audit_notes" for f in subject_access(coordinator, SAM).found)


@pytest.mark.django_db
def test_D5_a_note_changed_after_it_was_recorded_no_longer_matches_the_chain():
    meeting, host, identity = _live_meeting_with_sam()
    actions.do_remove(host, identity, "p_sam", "Recorded the meeting on a phone.", ban=False)
    AuditNote.objects.update(text="Left of their own accord.")

    removals = _section(meeting, "removals")
    assert "Left of their own accord" not in removals.facts[0].text
    assert any("changed after it was recorded" in warning for warning in removals.warnings)
    event = AuditEvent.objects.get(action="room.removed")
    shown = log.readable_details(event, log.notes_of([event]))
    assert shown["reason"] == "(changed after it was recorded)"


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], int]]:
    """How many audit rows have been hashed since the last call."""
    count = [0]
    real = log.event_hash

    def counting(event: AuditEvent) -> str:
        count[0] += 1
        return real(event)

    monkeypatch.setattr(log, "event_hash", counting)

    def since_last() -> int:
        seen, count[0] = count[0], 0
        return seen

    yield since_last


def _append(count: int) -> None:
    for number in range(count):
        record("test.filler", Actor.anonymous("test"), number=number)


@pytest.mark.django_db
def test_D5_the_evidence_page_hashes_only_the_rows_after_its_checkpoint(hashed):
    meeting = scheduled_meeting()
    _append(200)
    evidence_for(meeting)
    first = hashed()
    assert first >= 200  # no checkpoint yet: the whole log
    _append(5)
    hashed()
    evidence_for(meeting)
    small_log = hashed()
    # Ten times the log; the daily full check moves the checkpoint to its end.
    _append(2000)
    assert verify_chain()[1] is None
    hashed()
    _append(5)
    hashed()
    evidence_for(meeting)
    large_log = hashed()

    assert small_log == large_log == 5
    audit = _section(meeting, "audit-log")
    assert not audit.warnings
    assert any("the 0 entries after it were checked" in line for line in audit.summary)


@pytest.mark.django_db
def test_D5_a_row_changed_before_the_checkpoint_is_found_by_the_full_check(hashed):
    meeting = scheduled_meeting()
    _append(50)
    assert verify_recent().broken is None  # the checkpoint is at the end
    tampered = AuditEvent.objects.filter(action="test.filler").order_by("id")[10]
    AuditEvent.objects.filter(pk=tampered.pk).update(details={"number": 999})

    # The page's incremental check cannot see it (that is its cost saving)...
    assert verify_recent().broken is None
    # ...the full check does, names the row, and the page then says so.
    _checked, broken = verify_chain()
    assert broken is not None and broken.event_id == tampered.pk
    assert broken.reason == "its content was changed"
    warnings = _section(meeting, "audit-log").warnings
    assert any(f"found it broken at entry {tampered.pk}" in warning for warning in warnings)


@pytest.mark.django_db
def test_D5_the_servers_job_runs_the_full_check_once_a_day_and_cron_every_time():
    scheduled_meeting()
    _append(20)
    victim = AuditEvent.objects.filter(action="test.filler").order_by("id")[3]
    run_retention("schedule")
    first_check = AuditCheckpoint.objects.get().full_check_at
    assert first_check is not None
    AuditEvent.objects.filter(pk=victim.pk).update(action="test.changed")

    assert run_retention("schedule").problems == []  # checked within the day: not again
    AuditCheckpoint.objects.update(full_check_at=timezone.now() - dt.timedelta(days=1))
    problems = run_retention("schedule").problems
    assert problems == [
        f"The audit log's full check found it broken at entry {victim.pk}: its content was changed."
    ]
    assert run_retention("command").problems == problems  # cron: every run
