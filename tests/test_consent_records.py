"""Consent records, through the action functions (fast, in-memory database)."""

import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from haven.audit.models import AuditEvent
from haven.consent.actions import Answers, ConsentError, do_give_consent
from haven.consent.models import Consent, ConsentRequest
from haven.consent.status import State, current_consent, status_of
from haven.invitations.actions import InvitationError, do_invite
from haven.meetings.actions import do_change_house_rules
from haven.meetings.models import HouseRules
from tests.harness.unit import scheduled_meeting

pytestmark = pytest.mark.django_db


@pytest.fixture
def meeting():
    return scheduled_meeting()


def test_G1_a_meeting_starts_with_its_types_rules_as_version_1(meeting):
    rules = meeting.current_house_rules()
    assert rules.version == 1 and rules.text == meeting.meeting_type.house_rules
    assert rules.easy_read == meeting.meeting_type.house_rules_easy_read
    assert rules.sha256 == HouseRules.digest(rules.text, rules.easy_read)


def test_G1_consent_counts_only_for_the_current_rules(meeting, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = do_invite(
            meeting.host, meeting, name="Pat", email="p@example.org", role="parent_carer"
        )
    request = ConsentRequest.objects.get(invitation=invitation)
    with django_capture_on_commit_callbacks(execute=True):
        do_give_consent(request.pk, 1, Answers())
    assert current_consent(invitation) is not None
    assert [m.subject for m in mail.outbox][-2:] == [
        "Your link for “Review”",
        "Your passcode for “Review”",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        do_change_house_rules(meeting.host, meeting, text="- Be kind.", easy_read="- Be kind.")
    invitation.refresh_from_db()
    assert current_consent(invitation) is None
    assert status_of(invitation, meeting.current_house_rules()).state is State.ASKED_AGAIN
    with pytest.raises(ConsentError):  # the first link was used
        do_give_consent(request.pk, 2, Answers())


def test_U3_the_action_itself_refuses_a_child_without_a_parent(meeting):
    with pytest.raises(InvitationError, match="parent or carer"):
        do_invite(meeting.host, meeting, name="Robin", email="r@example.org", role="child")
    assert not meeting.invitations.exists()


def test_deleting_a_meeting_removes_its_consents_too(meeting):
    invitation = do_invite(
        meeting.host, meeting, name="Pat", email="p@example.org", role="parent_carer"
    )
    request = ConsentRequest.objects.get(invitation=invitation)
    do_give_consent(request.pk, 1, Answers())
    meeting.delete()  # erasure (D4) must not be blocked by the consent records
    assert not Consent.objects.exists() and not ConsentRequest.objects.exists()


class RefusingMailServer(BaseEmailBackend):
    """An SMTP server that is down."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def test_a_failed_email_is_audited_and_the_link_is_not_marked_sent(
    meeting, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingMailServer"
    with django_capture_on_commit_callbacks(execute=True):
        invitation = do_invite(
            meeting.host, meeting, name="Pat", email="p@example.org", role="parent_carer"
        )
    request = ConsentRequest.objects.get(invitation=invitation)
    with django_capture_on_commit_callbacks(execute=True):
        given = do_give_consent(request.pk, 1, Answers())
    assert given.access_sent_now
    invitation.refresh_from_db()
    assert invitation.access_sent_at is None  # the host sees "Consented: link not sent yet"
    assert status_of(invitation, meeting.current_house_rules()).state is State.CONSENTED
    failed = AuditEvent.objects.filter(action="email.failed", invitation=invitation)
    assert [event.details["kind"] for event in failed] == ["consent_request", "link", "passcode"]
    assert not AuditEvent.objects.filter(action="email.sent", invitation=invitation).exists()
