"""Unit tests of the policy functions: every decision, allowed and refused."""

import pytest

from haven.policy import rules
from haven.policy.rules import MeetingState, Presence, Role, Source


def test_S9_nobody_joins_without_confirming_a_private_place():
    for role in Role:
        decision = rules.may_join(role, Presence.CONNECTED, MeetingState.LIVE, confirmed=False)
        assert not decision
        assert decision.code == "confirmation_required"
        assert rules.may_join(role, Presence.CONNECTED, MeetingState.LIVE, confirmed=True)


def test_S2_attendees_enter_the_waiting_room_and_the_host_goes_straight_in():
    assert rules.entry_presence(Role.ATTENDEE) is Presence.WAITING
    assert rules.entry_presence(Role.HOST) is Presence.ADMITTED


def test_S2_only_the_host_in_the_meeting_can_admit():
    assert rules.may_admit(Role.HOST, Presence.ADMITTED, MeetingState.LIVE)
    for presence in Presence:
        refused = rules.may_admit(Role.ATTENDEE, presence, MeetingState.LIVE)
        assert not refused and refused.code == "not_allowed"
    assert rules.may_admit(Role.HOST, Presence.CONNECTED, MeetingState.LIVE).code == "not_joined"
    assert rules.may_admit(Role.HOST, Presence.ADMITTED, MeetingState.ENDED).code == "meeting_ended"


def test_S2_nobody_in_the_waiting_room_sends_or_receives_media():
    for presence in (Presence.CONNECTED, Presence.WAITING, Presence.LEFT):
        assert not rules.may_use_media(presence, MeetingState.LIVE)
        assert not rules.may_receive_meeting_events(presence)
    assert rules.may_use_media(Presence.ADMITTED, MeetingState.LIVE)
    assert rules.may_receive_meeting_events(Presence.ADMITTED)
    assert not rules.may_use_media(Presence.ADMITTED, MeetingState.ENDED)


def test_only_the_host_ends_the_meeting():
    assert rules.may_end_meeting(Role.HOST, MeetingState.LIVE)
    assert rules.may_end_meeting(Role.ATTENDEE, MeetingState.LIVE).code == "not_allowed"
    assert rules.may_end_meeting(Role.HOST, MeetingState.ENDED).code == "meeting_ended"


@pytest.mark.parametrize(
    ("audio", "video", "allowed"), [(0, 0, True), (1, 1, True), (1, 2, False), (2, 1, False)]
)
def test_V2_an_attendee_may_send_one_camera(audio, video, allowed):
    assert bool(rules.may_publish(Role.ATTENDEE, Source.CAMERA, audio, video)) is allowed


def test_V2_only_the_host_shares_a_screen():
    refused = rules.may_publish(Role.ATTENDEE, Source.SCREEN, 0, 1)
    assert refused.code == "not_allowed"
    assert rules.may_publish(Role.HOST, Source.SCREEN, 0, 1)
    assert rules.may_publish(Role.HOST, Source.SCREEN, 1, 1).code == "too_many_streams"
    assert rules.may_publish(Role.HOST, Source.SCREEN, 0, 2).code == "too_many_streams"
    assert rules.may_publish(Role.HOST, Source.SCREEN, 0, 0).code == "too_many_streams"


def test_S3_nobody_is_admitted_while_locked():
    assert rules.may_admit(Role.HOST, Presence.ADMITTED, MeetingState.LIVE, locked=False)
    locked = rules.may_admit(Role.HOST, Presence.ADMITTED, MeetingState.LIVE, locked=True)
    assert locked.code == "meeting_locked"
    # An attendee is refused as an attendee, whether or not it is locked.
    assert rules.may_admit(Role.ATTENDEE, Presence.ADMITTED, MeetingState.LIVE, True).code == (
        "not_allowed"
    )


def test_S8_V3_only_the_host_in_the_meeting_moderates():
    assert rules.may_moderate(Role.HOST, Presence.ADMITTED, MeetingState.LIVE)
    for presence in Presence:
        assert rules.may_moderate(Role.ATTENDEE, presence, MeetingState.LIVE).code == "not_allowed"
    assert rules.may_moderate(Role.HOST, Presence.WAITING, MeetingState.LIVE).code == "not_joined"
    assert rules.may_moderate(Role.HOST, Presence.ADMITTED, MeetingState.ENDED).code == (
        "meeting_ended"
    )


def test_rejoining_after_joining_is_refused():
    decision = rules.may_join(Role.ATTENDEE, Presence.WAITING, MeetingState.LIVE, confirmed=True)
    assert decision.code == "already_joined"


def test_S4_documents_are_emailed_only_while_the_meeting_is_open():
    assert rules.may_email_document(MeetingState.SCHEDULED)
    assert rules.may_email_document(MeetingState.LIVE)
    assert not rules.may_email_document(MeetingState.ENDED)


def test_S2_anyone_in_the_meeting_raises_their_own_hand_and_nobody_waiting_does():
    for role in Role:
        assert rules.may_raise_hand(Presence.ADMITTED, MeetingState.LIVE)
        assert rules.may_lower_hand(role, Presence.ADMITTED, MeetingState.LIVE, own=True)
    for presence in (Presence.CONNECTED, Presence.WAITING, Presence.LEFT):
        assert rules.may_raise_hand(presence, MeetingState.LIVE).code == "not_allowed"
        lowering = rules.may_lower_hand(Role.ATTENDEE, presence, MeetingState.LIVE, own=True)
        assert lowering.code == "not_allowed"
    assert rules.may_raise_hand(Presence.ADMITTED, MeetingState.ENDED).code == "meeting_ended"


def test_only_the_host_lowers_someone_elses_hand():
    assert rules.may_lower_hand(Role.HOST, Presence.ADMITTED, MeetingState.LIVE, own=False)
    for presence in Presence:
        refused = rules.may_lower_hand(Role.ATTENDEE, presence, MeetingState.LIVE, own=False)
        assert refused.code == "not_allowed"
    ended = rules.may_lower_hand(Role.HOST, Presence.ADMITTED, MeetingState.ENDED, own=False)
    assert ended.code == "meeting_ended"
