"""Hardening (issue 20, item 1): every malformed frame gets a stable code, never a crash.

First 100,000+ mutated frames through the parser in-process (the messages of the host and
of attendees, broken every way tests/harness/fuzz.py knows), then a few thousand over the
socket into a live meeting with a host and two attendees: no `server_error`, nothing at
ERROR in Haven's log, every connection kept, and the meeting as it was (roster, host,
lock).
"""

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from haven.room import protocol as p
from tests.harness import fuzz
from tests.harness.flows import Socket
from tests.test_in_meeting_protocol import admitted, arrive, start_meeting

STABLE = {"bad_json", "unknown_type", "bad_message"}
IN_PROCESS_FRAMES = 105_000
LIVE_FRAMES_EACH = 700  # a host and two attendees: 2,100 frames
# Valid messages a live fuzzer may still send: each is refused in that meeting (no such
# feed, already joined, no such chat message or not the host), so each gets one error and
# changes nothing. Any other frame that happens to be valid is left out.
HARMLESS_WHEN_VALID = {"subscribe", "subscribe_answer", "join", "chat_remove"}


def classify(frame: str) -> str:
    """The parser's verdict on one frame: its type if valid, else the error's code. Fails
    on anything else, and on an error that could not be sent back as it is."""
    try:
        message = p.parse_client_message(frame)
    except p.ProtocolError as error:
        assert error.code in STABLE, (error.code, frame[:200])
        reply = p.Error(code=error.code, message=error.message, re=error.request_id)
        p.server_message_adapter.validate_json(p.encode(reply))  # fits the schema, encodes
        return error.code
    return str(message.type)


def test_hardening_fuzz_100000_mutated_frames_get_only_stable_codes_in_process():
    seen: dict[str, int] = {}
    started = time.monotonic()
    for role, messages, seed in (
        ("host", fuzz.HOST_MESSAGES, 20),
        ("attendee", fuzz.ATTENDEE_MESSAGES, 21),
    ):
        for frame in fuzz.frames(messages, IN_PROCESS_FRAMES // 2, seed=seed):
            try:
                verdict = classify(frame)
            except AssertionError:
                raise
            except BaseException as error:
                pytest.fail(f"{role} frame {frame[:200]!r} raised {error!r}")
            seen[verdict] = seen.get(verdict, 0) + 1
    # The mutator reaches every code, and most frames are broken.
    assert set(seen) >= STABLE, seen
    assert sum(seen[code] for code in STABLE) > 0.8 * IN_PROCESS_FRAMES, seen
    assert time.monotonic() - started < 60


def test_hardening_fuzz_the_parser_survives_what_broke_it():
    """The frames issue 20 found, each by name."""
    assert classify('{"type": ["chat"]}') == "unknown_type"
    assert classify('{"type": {}}') == "unknown_type"
    assert classify('{"type": null, "id": 3}') == "unknown_type"
    assert classify("[" * 10_000 + "]" * 10_000) == "bad_json"
    assert classify('{"type": "chat", "text": ' + "[" * 5000 + "]" * 5000 + "}") == "bad_json"
    assert classify('{"type": "chat", "text": "a", "x": ' + "[" * 50 + "]" * 50 + "}") == "bad_json"
    assert classify('{"type": "chat", "text": "a", "id": "\\ud800"}') == "bad_json"
    assert classify('{"type": "hello", "protocol": NaN}') == "bad_json"
    assert classify('{"type": "hello", "protocol": ' + "9" * 5000 + "}") == "bad_json"
    assert classify('{"type": "subscribe", "feed": ' + "9" * 400 + "}") == "bad_message"
    with pytest.raises(p.ProtocolError) as caught:
        p.parse_client_message('{"type": "hello", "protocol": "1", "id": true}')
    assert caught.value.request_id is None  # an id of the wrong kind is never echoed


def log_errors(log: Path, offset: int) -> list[str]:
    """Lines at ERROR (or worse) in Haven's log after `offset`, and any traceback."""
    found = []
    with log.open("rb") as file:
        file.seek(offset)
        for raw in file.read().decode(errors="replace").splitlines():
            try:
                level = json.loads(raw).get("level")
            except ValueError:
                level = "ERROR" if "Traceback" in raw or " ERROR " in raw else None
            if level in ("ERROR", "CRITICAL"):
                found.append(raw)
    return found


def live_frames(messages: list[dict[str, Any]], seed: int) -> list[str]:
    chosen = []
    for frame in fuzz.frames(messages, LIVE_FRAMES_EACH * 3, seed=seed):
        try:
            frame.encode()
        except UnicodeEncodeError:
            continue  # a raw lone surrogate cannot go on the wire as text (it is not UTF-8)
        try:
            verdict = classify(frame)
        except Exception:
            verdict = "bad_json"
        if verdict in STABLE or verdict in HARMLESS_WHEN_VALID:
            chosen.append(frame)
        if len(chosen) == LIVE_FRAMES_EACH:
            return chosen
    raise AssertionError("the mutator made too few frames")


def fire(
    socket: Socket, frames: list[str], replies: list[dict[str, Any]], other: list[dict[str, Any]]
) -> None:
    """Send each frame and read its one reply (every frame sent is refused: an `error`;
    anything else that arrives meanwhile goes to `other`). A frame the server would not
    read yet (rate_limited, so never parsed) is sent again once the allowance is back."""
    for frame in frames:
        while True:
            socket.send(frame)
            reply = socket.receive(timeout=20)
            while reply["type"] != "error":
                other.append(reply)
                reply = socket.receive(timeout=20)
            replies.append(reply)
            if reply["code"] != "rate_limited":
                break
            time.sleep(0.05)  # the general allowance: 20 a second


def ask(socket: Socket, message: dict[str, Any]) -> dict[str, Any]:
    """Socket.request, sent again while the server says rate_limited (no `re` on that)."""
    message = {**message, "id": "after-fuzz"}
    while True:
        socket.send(message)
        reply = socket.receive()
        while reply.get("re") != "after-fuzz" and reply.get("code") != "rate_limited":
            reply = socket.receive()
        if reply.get("code") != "rate_limited":
            return reply
        time.sleep(0.05)


def test_hardening_fuzz_live_mutated_frames_leave_the_meeting_as_it_was(stack):
    meeting = start_meeting(stack, "Fuzzed meeting")
    one, one_pid, _ = admitted(stack, meeting, "Fay Fuzz")
    two_socket, two_pid, _, _ = arrive(stack, meeting, "Gus Fuzz")
    meeting.host.send({"type": "admit", "participant": two_pid})
    before = two_socket.expect("admitted")["roster"]
    sockets = {"host": meeting.host, "one": one, "two": two_socket}
    for socket in sockets.values():  # read what the admissions sent: nothing is pending
        assert socket.request({"type": "unmute_self"})["type"] == "unmuted"
    log_offset = stack.log.stat().st_size
    sources = {
        "host": fuzz.HOST_MESSAGES,
        "one": fuzz.ATTENDEE_MESSAGES,
        "two": fuzz.ATTENDEE_MESSAGES,
    }
    replies: dict[str, list[dict[str, Any]]] = {name: [] for name in sockets}
    other: dict[str, list[dict[str, Any]]] = {name: [] for name in sockets}
    failures: list[BaseException] = []

    def run(name: str, seed: int) -> None:
        try:
            fire(sockets[name], live_frames(sources[name], seed), replies[name], other[name])
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(name, 100 + n)) for n, name in enumerate(sockets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=100)
    assert not failures, failures
    everything = [reply for name in sockets for reply in replies[name]]
    codes = {reply.get("code") for reply in everything}
    assert "server_error" not in codes, codes
    answered = [reply for reply in everything if reply.get("code") != "rate_limited"]
    assert len(answered) == 3 * LIVE_FRAMES_EACH
    # Nothing happened in the meeting meanwhile. (What Gus's admission sent may arrive
    # late: the waiting list, empty, and the roster of the three.)
    people = {person["participant"] for person in before}

    def as_before(message: dict[str, Any]) -> bool:
        if message["type"] == "waiting_list":
            return message["waiting"] == []
        roster = message.get("roster", [])
        return message["type"] == "roster" and {p["participant"] for p in roster} == people

    assert all(as_before(message) for name in sockets for message in other[name]), other
    assert codes - {"rate_limited"} <= STABLE | {"not_found", "not_allowed", "already_joined"}
    assert log_errors(stack.log, log_offset) == []
    # Every connection is still open and answers.
    for socket in (one, two_socket, meeting.host):
        assert ask(socket, {"type": "unmute_self"})["type"] == "unmuted"
    # The meeting as it was: the same roster and host, not locked (a newcomer sees it).
    late, late_pid, waiting, _ = arrive(stack, meeting, "Lia Late")
    assert waiting["locked"] is False
    meeting.host.send({"type": "admit", "participant": late_pid})
    after = late.expect("admitted")["roster"]
    assert [person for person in after if person["participant"] != late_pid] == before
    assert [person["participant"] for person in after if person["is_host"]] == [meeting.host_pid]
    assert {one_pid, two_pid} <= {person["participant"] for person in after}
