"""The meeting protocol over a real WebSocket, against a live Haven and Janus."""

import json

import pytest

from tests.harness import flows
from tests.harness.flows import Socket


@pytest.fixture
def meeting(stack):
    """A host signed in with a scheduled meeting, and one invitee who entered their passcode."""
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    invited = flows.invite(stack, host, meeting_id)
    attendee = flows.enter_passcode(stack, invited)
    return {"id": meeting_id, "host": host, "attendee": attendee, "invited": invited}


def test_the_handshake_names_the_person_and_says_not_recorded(stack, meeting):
    socket = Socket(stack, meeting["attendee"], meeting["id"])
    welcome = flows.greet(socket)
    assert welcome["type"] == "welcome" and welcome["protocol"] == 1
    assert welcome["you"] == {"name": "Sam Carter", "role": "parent_carer", "is_host": False}
    assert welcome["meeting"]["recorded"] is False
    assert welcome["meeting"]["host"]["job_title"] == "IASS Officer"


def test_an_unsupported_version_is_refused_and_closed(stack, meeting):
    socket = Socket(stack, meeting["attendee"], meeting["id"])
    reply = socket.request({"type": "hello", "protocol": 99})
    assert reply["code"] == "unsupported_version"
    with pytest.raises(Exception, match="4400"):
        socket.receive()


def test_bad_messages_get_stable_codes_and_the_connection_survives(stack, meeting):
    socket = Socket(stack, meeting["attendee"], meeting["id"])
    assert (
        socket.request({"type": "join", "private_place_confirmed": True})["code"]
        == "hello_required"
    )
    flows.greet(socket)
    assert socket.request("{not json")["code"] == "bad_json"
    assert socket.request({"type": "make_me_host", "id": 5}) == {
        "type": "error",
        "re": 5,
        "code": "unknown_type",
        "message": "No message has that type.",
    }
    assert (
        socket.request({"type": "join", "private_place_confirmed": True, "as": "host"})["code"]
        == "bad_message"
    )
    assert (
        socket.request({"type": "join", "private_place_confirmed": False})["code"]
        == "confirmation_required"
    )
    assert socket.request({"type": "join", "private_place_confirmed": True})["type"] == "waiting"


def test_strangers_cannot_open_the_meeting_socket(stack, meeting):
    outsider = stack.http()
    with pytest.raises(Exception, match="403"):
        Socket(stack, outsider, meeting["id"])
    other_host, _ = flows.sign_in(stack, "other-host")
    with pytest.raises(Exception, match="403"):
        Socket(stack, other_host, meeting["id"])


def test_S2_the_host_admits_and_only_then_the_attendee_gets_the_meeting(stack, meeting):
    host = Socket(stack, meeting["host"], meeting["id"])
    joined = flows.join(host)
    assert joined["type"] == "joined" and [p["is_host"] for p in joined["roster"]] == [True]
    attendee = Socket(stack, meeting["attendee"], meeting["id"])
    waiting = flows.join(attendee)
    assert waiting == {
        "type": "waiting",
        "meeting": waiting["meeting"],
        "locked": False,
        "message": "The host will let you in.",
        "resume": waiting["resume"],
    }
    listed = host.expect("waiting_list")["waiting"]
    assert [person["name"] for person in listed] == ["Sam Carter"]
    # While waiting: no roster, no feeds, nothing of the meeting.
    assert attendee.nothing_arrives(1.0) == []
    host.send({"type": "admit", "participant": listed[0]["participant"]})
    admitted = attendee.expect("admitted")
    assert sorted(p["name"] for p in admitted["roster"]) == ["Alex Morgan", "Sam Carter"]
    assert len(stack.audit("room.admitted")) >= 1


def test_S2_an_attendee_sending_the_hosts_messages_is_refused_and_audited(stack, meeting):
    host = Socket(stack, meeting["host"], meeting["id"])
    flows.join(host)
    attendee = Socket(stack, meeting["attendee"], meeting["id"])
    flows.join(attendee)
    me = host.expect("waiting_list")["waiting"][0]["participant"]
    before = len(stack.audit("protocol.refused"))
    for message in (
        {"type": "admit", "participant": me},
        {"type": "end_meeting"},
        {
            "type": "publish",
            "jsep": {"type": "offer", "sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"},
        },
        {"type": "subscribe", "feed": 1},
    ):
        reply = attendee.request(message)
        assert reply["type"] == "error" and reply["code"] == "not_allowed", reply
    refused = stack.audit("protocol.refused")[before:]
    assert [json.loads(row["details"])["message_type"] for row in refused] == [
        "admit",
        "end_meeting",
        "publish",
        "subscribe",
    ]
    # Still waiting: the self-admission did nothing.
    assert attendee.nothing_arrives(0.5) == []


def test_the_host_ends_the_meeting_for_everyone(stack, meeting):
    host = Socket(stack, meeting["host"], meeting["id"])
    flows.join(host)
    attendee = Socket(stack, meeting["attendee"], meeting["id"])
    flows.join(attendee)
    host.expect("waiting_list")
    host.send({"type": "end_meeting"})
    assert attendee.expect("meeting_ended") == {"type": "meeting_ended"}
    assert host.expect("meeting_ended") == {"type": "meeting_ended"}
    page = meeting["attendee"].get(f"/room/{meeting['id']}/")
    assert page.status_code == 404
