"""What the host's pages say once a meeting is over (issue 13, item 9): each invitee's
outcome stays true ("Removed by the host", not "Joined"), and the documents page says
the meeting has ended instead of "Page not found"."""

import html

import pytest

from tests.test_consent import card
from tests.test_in_meeting_protocol import admitted, start_meeting

pytestmark = pytest.mark.live


def test_S8_after_the_meeting_the_host_sees_who_was_removed_and_documents_say_it_ended(stack):
    meeting = start_meeting(stack)
    stayed, _, _ = admitted(stack, meeting, "Sam Stayed")
    removed, removed_pid, _ = admitted(stack, meeting, "Rob Removed")
    meeting.host.send({"type": "remove", "participant": removed_pid, "reason": "Kept shouting."})
    removed.expect("removed")
    assert "Removed by the host" in card(meeting.host_client, meeting.id, "Rob Removed")
    documents = meeting.host_client.get(f"/meetings/{meeting.id}/documents/")
    assert documents.status_code == 200

    meeting.host.send({"type": "end_meeting", "transcript": "destroy"})
    stayed.expect("meeting_ended")
    assert "Removed by the host" in card(meeting.host_client, meeting.id, "Rob Removed")
    assert ">Joined<" in card(meeting.host_client, meeting.id, "Sam Stayed")

    for method in ("get", "post"):
        ended = getattr(meeting.host_client, method)(f"/meetings/{meeting.id}/documents/")
        assert ended.status_code == 410
        text = html.unescape(ended.text)
        assert "This meeting has ended" in text and "Page not found" not in text
