"""Rule S8 with a statutory service's duty to stay reachable: a ban is reviewed by a date
chosen when it is made (the policy's ban_review_days by default), a coordinator may keep
it to a later date, and a ban nobody kept ends by itself at its review date, audited.

Unit tests on Django's test database; the bans page is in tests/test_bans_page.py.
"""

import datetime as dt

import pytest
from django.utils import timezone

from haven.audit.log import pseudonym
from haven.audit.models import AuditEvent
from haven.bans.actions import BanError, do_change_review, lapse_due_bans
from haven.bans.models import Ban, is_excluded
from haven.records.retention import run_retention
from haven.room import actions
from haven.room import protocol as p
from tests.test_audit_notes import SAM, _coordinator, _live_meeting_with_sam

TODAY = timezone.localdate


def _ban(review_on: dt.date | None = None) -> Ban:
    _meeting, host, identity = _live_meeting_with_sam()
    actions.do_remove(host, identity, "p_sam", "Abusive", ban=True, review_on=review_on)
    return Ban.objects.get(email=SAM)


@pytest.mark.django_db
def test_S8_a_ban_is_reviewed_by_the_policys_default_date_when_the_host_chooses_none():
    ban = _ban()
    policy = ban.organisation.policy_in_force()
    assert policy.ban_review_days == 183
    assert ban.review_on == TODAY() + dt.timedelta(days=183)
    assert ban.lifted_at is None and not ban.lapsed
    message = p.parse_client_message(
        '{"type": "ban", "participant": "p_1", "reason": "x", "review_on": "2027-03-01"}'
    )
    assert isinstance(message, p.Ban) and message.review_on == "2027-03-01"


@pytest.mark.django_db
def test_S8_the_host_chooses_the_review_date_and_a_date_not_ahead_is_refused():
    _meeting, host, identity = _live_meeting_with_sam()
    for bad in (TODAY(), TODAY() + dt.timedelta(days=800)):
        with pytest.raises(actions.Refused) as refused:
            actions.do_remove(host, identity, "p_sam", "Abusive", ban=True, review_on=bad)
        assert refused.value.decision.code == "bad_message"
        assert not Ban.objects.exists() and not AuditEvent.objects.filter(action="room.banned")
    chosen = TODAY() + dt.timedelta(days=60)
    actions.do_remove(host, identity, "p_sam", "Abusive", ban=True, review_on=chosen)
    assert Ban.objects.get(email=SAM).review_on == chosen
    for frame in ('"review_on": "2027-02-30"', '"review_on": "soon"', '"review_on": 20270301'):
        with pytest.raises(p.ProtocolError) as error:
            p.parse_client_message(
                '{"type": "ban", "participant": "p_1", "reason": "x", ' + frame + "}"
            )
        assert error.value.code == "bad_message"


@pytest.mark.django_db
def test_S8_a_ban_past_its_review_date_ends_by_itself_and_is_audited():
    ban = _ban()
    meeting = ban.meeting
    assert meeting is not None
    Ban.objects.filter(pk=ban.pk).update(review_on=TODAY())
    assert run_retention("schedule").counts["bans_lapsed"] == 0  # its day: still in force
    assert is_excluded(meeting.pk + 1, ban.organisation_id, SAM)
    Ban.objects.filter(pk=ban.pk).update(review_on=TODAY() - dt.timedelta(days=1))

    run = run_retention("schedule")

    ban.refresh_from_db()
    assert run.counts["bans_lapsed"] == 1
    assert ban.lapsed and ban.lifted_at is not None and ban.lifted_by is None
    assert not is_excluded(meeting.pk + 1, ban.organisation_id, SAM)  # other meetings: open
    assert is_excluded(meeting.pk, ban.organisation_id, SAM)  # the removal still stands
    [lapsed] = AuditEvent.objects.filter(action="ban.lapsed")
    assert lapsed.actor_kind == "system" and lapsed.meeting_ref == str(meeting.public_id)
    assert lapsed.details == {
        "ban_id": ban.pk,
        "person": pseudonym(SAM),
        "review_on": (TODAY() - dt.timedelta(days=1)).isoformat(),
    }
    assert lapse_due_bans() == 0  # idempotent


@pytest.mark.django_db
def test_S8_a_coordinator_keeps_a_ban_to_a_later_date_saying_why():
    ban = _ban()
    assert ban.meeting is not None
    coordinator = _coordinator(ban.meeting)
    later = TODAY() + dt.timedelta(days=365)
    with pytest.raises(BanError, match="say why"):
        do_change_review(coordinator, ban, later, "  ")
    with pytest.raises(BanError, match="after today"):
        do_change_review(coordinator, ban, TODAY(), "Still a risk")
    do_change_review(coordinator, ban, later, "Still a risk to families")

    ban.refresh_from_db()
    assert ban.review_on == later
    [changed] = AuditEvent.objects.filter(action="ban.review_changed")
    assert changed.details["review_on"] == later.isoformat()
    assert "Still a risk" not in str(changed.details)  # the words are an erasable note
    assert run_retention("schedule").counts["bans_lapsed"] == 0
