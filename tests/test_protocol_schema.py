"""The protocol's schemas: strict, unknown fields refused, stable error codes."""

import json
import re
from pathlib import Path

import pytest

from haven.room import protocol as p

ROOT = Path(__file__).resolve().parents[1]


def parse(message):
    return p.parse_client_message(json.dumps(message))


def error_code(text):
    with pytest.raises(p.ProtocolError) as caught:
        p.parse_client_message(text)
    return caught.value.code


def client_examples():
    """Every JSON example in the client-to-server part of docs/protocol.md."""
    text = (ROOT / "docs" / "protocol.md").read_text()
    section = text.split("## Client to server")[1].split("## Server to client")[0]
    examples = []
    for block in re.findall(r"```json\n(.*?)```", section, re.S):
        try:
            examples.append(json.loads(block))
        except ValueError:  # several one-line examples in one block
            examples += [json.loads(line) for line in block.splitlines() if line.strip()]
    return examples


def test_every_client_example_in_the_protocol_doc_parses():
    examples = client_examples()
    assert {example["type"] for example in examples} == set(p.CLIENT_TYPES)
    for example in examples:
        assert parse(example).type == example["type"]


def test_S5_a_recipient_field_is_refused_as_unknown():
    assert (
        error_code(json.dumps({"type": "admit", "participant": "p_1", "to": "p_2"}))
        == "bad_message"
    )


def test_bad_frames_get_stable_codes():
    assert error_code("not json") == "bad_json"
    assert error_code("[1, 2]") == "bad_json"
    assert error_code(json.dumps({"type": "record"})) == "unknown_type"
    assert error_code(json.dumps({"type": "hello"})) == "bad_message"
    assert error_code(json.dumps({"type": "hello", "protocol": "1"})) == "bad_message"
    assert (
        error_code(
            json.dumps({"type": "publish", "jsep": {"type": "answer", "sdp": "v=0 xxxxxxxx"}})
        )
        == "bad_message"
    )
    assert error_code("x" * (p.MAX_FRAME + 1)) == "bad_json"


def test_the_request_id_comes_back_with_an_error():
    with pytest.raises(p.ProtocolError) as caught:
        p.parse_client_message(json.dumps({"type": "nope", "id": 42}))
    assert caught.value.request_id == 42


def test_server_messages_validate_against_the_server_schema():
    message = p.Error(code="not_allowed", message="Only the host can do that.", re=3)
    decoded = p.server_message_adapter.validate_json(p.encode(message))
    assert decoded.type == "error"


def test_U5_the_roster_example_in_the_protocol_doc_fits_the_server_schema():
    text = (ROOT / "docs" / "protocol.md").read_text()
    section = text.split("### roster\n")[1].split("###")[0]
    (block,) = re.findall(r"```json\n(.*?)```", section, re.S)
    roster = p.server_message_adapter.validate_json(block)
    assert isinstance(roster, p.Roster)
    assert [person.supervised_by for person in roster.roster] == [None, None, "Sam Carter"]
