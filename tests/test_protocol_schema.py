"""The protocol's schemas: strict, unknown fields refused, stable error codes."""

import json

import pytest

from haven.room import protocol as p


def parse(message):
    return p.parse_client_message(json.dumps(message))


def error_code(text):
    with pytest.raises(p.ProtocolError) as caught:
        p.parse_client_message(text)
    return caught.value.code


def test_every_documented_client_message_parses():
    sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"
    examples = [
        {"type": "hello", "protocol": 1},
        {"type": "join", "private_place_confirmed": True},
        {"type": "admit", "participant": "p_3f9c1a2b"},
        {"type": "publish", "id": 7, "jsep": {"type": "offer", "sdp": sdp}},
        {"type": "subscribe", "id": 8, "feed": 4512876},
        {"type": "subscribe_answer", "feed": 4512876, "jsep": {"type": "answer", "sdp": sdp}},
        {"type": "trickle", "feed": None, "candidate": {"candidate": "c", "sdpMid": "0", "sdpMLineIndex": 0}},
        {"type": "trickle", "feed": 5, "candidate": None},
        {"type": "leave"},
        {"type": "end_meeting"},
    ]
    for example in examples:
        assert parse(example).type == example["type"]


def test_S5_a_recipient_field_is_refused_as_unknown():
    assert error_code(json.dumps({"type": "admit", "participant": "p_1", "to": "p_2"})) == "bad_message"


def test_bad_frames_get_stable_codes():
    assert error_code("not json") == "bad_json"
    assert error_code("[1, 2]") == "bad_json"
    assert error_code(json.dumps({"type": "record"})) == "unknown_type"
    assert error_code(json.dumps({"type": "hello"})) == "bad_message"
    assert error_code(json.dumps({"type": "hello", "protocol": "1"})) == "bad_message"
    assert error_code(json.dumps({"type": "publish", "jsep": {"type": "answer", "sdp": "v=0 xxxxxxxx"}})) == "bad_message"
    assert error_code("x" * (p.MAX_FRAME + 1)) == "bad_json"


def test_the_request_id_comes_back_with_an_error():
    with pytest.raises(p.ProtocolError) as caught:
        p.parse_client_message(json.dumps({"type": "nope", "id": 42}))
    assert caught.value.request_id == 42


def test_server_messages_validate_against_the_server_schema():
    message = p.Error(code="not_allowed", message="Only the host can do that.", re=3)
    decoded = p.server_message_adapter.validate_json(p.encode(message))
    assert decoded.type == "error"
