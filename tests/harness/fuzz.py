"""A seeded mutator of meeting-protocol frames, for the hardening fuzz test (issue 20).

It starts from one well-formed example of every client message (docs/protocol.md) and
breaks it the ways an attacker or a broken client would: every field given every wrong
kind of value (lists, objects, huge and negative numbers, floats, null, booleans, odd
Unicode, long text), fields dropped, fields added, `type` and `id` of every kind, deep
nesting (inside a field and at the top), and the JSON text itself cut, corrupted or made
of things that are not JSON at all. The same seed gives the same frames.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

SDP_OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
SDP_ANSWER = SDP_OFFER.replace("o=- 1", "o=- 2")
PID = "p_3f9c1a2b"

# One well-formed example of every client message, as each role would send it.
ATTENDEE_MESSAGES: list[dict[str, Any]] = [
    {"type": "hello", "protocol": 1, "id": 1},
    {"type": "join", "private_place_confirmed": True, "id": "j1"},
    {"type": "join", "private_place_confirmed": True, "resume": "r" * 40},
    {"type": "publish", "source": "camera", "jsep": {"type": "offer", "sdp": SDP_OFFER}},
    {"type": "unpublish", "source": "camera"},
    {"type": "subscribe", "feed": 1234, "id": 7},
    {"type": "subscribe_answer", "feed": 1234, "jsep": {"type": "answer", "sdp": SDP_ANSWER}},
    {
        "type": "trickle",
        "feed": None,
        "candidate": {
            "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
            "usernameFragment": "abcd",
        },
    },
    {"type": "trickle", "feed": 99, "candidate": None},
    {"type": "unmute_self"},
    {"type": "raise_hand", "id": 14},
    {"type": "lower_hand"},
    {"type": "lower_hand", "participant": PID, "id": "h1"},
    {"type": "chat", "text": "Thank you, that helps.", "id": 12},
    {"type": "leave"},
]
HOST_MESSAGES: list[dict[str, Any]] = [
    *ATTENDEE_MESSAGES,
    {"type": "admit", "participant": PID},
    {"type": "admit_all"},
    {"type": "turn_away", "participant": PID, "message": "Please come at 2pm."},
    {"type": "lock"},
    {"type": "unlock"},
    {"type": "remove", "participant": PID, "reason": "Shared the link."},
    {"type": "ban", "participant": PID, "reason": "Threatened the host."},
    {"type": "ask", "participant": PID, "what": "mute"},
    {"type": "ask", "participant": None, "what": "camera_off"},
    {"type": "mute", "participant": PID},
    {"type": "mute", "participant": None},
    {"type": "publish", "source": "screen", "jsep": {"type": "offer", "sdp": SDP_OFFER}},
    {"type": "chat_remove", "message": "m_0a1b2c3d4e5f6a7b"},
    {"type": "end_meeting", "transcript": "destroy"},
]

ODD_TEXT = [
    "",
    " ",
    "\u0000",
    "\u202eevil\u202c",
    "\u200b\u200d\ufeff",
    "\U0001f600\u200d\U0001f4bb",
    "e\u0301" * 50,
    "\ud800",  # a lone surrogate: valid JSON (as \\ud800), not valid text
    "\udfff\ud800",
    "日本語のテキスト",
    "javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD4=",
    "p_" + "f" * 60,
    "m_zzzzzzzzzzzzzzzz",
    "x" * 70_000,
    "x" * 1001,
    "'; DROP TABLE chat;--",
    "{{ 7*7 }}",
    "\r\n\t",
    "offer",
    "answer",
    "camera",
    "screen",
    "hello",
    "__proto__",
]
HUGE_NUMBERS: list[Any] = [
    -1,
    0,
    2**31,
    2**31 + 1,
    2**53,
    2**53 + 1,
    2**63,
    -(2**63) - 1,
    2**64,
    10**100,
    int("9" * 4000),
    1.0,
    0.5,
    -0.0,
    1e308,
    1e-308,
]


def wrong_values(rng: random.Random) -> Any:
    """A value of some kind, most of them wrong for whatever field gets it."""
    choice = rng.randrange(14)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice in (2, 3):
        return rng.choice(HUGE_NUMBERS)
    if choice in (4, 5, 6):
        return rng.choice(ODD_TEXT)
    if choice == 7:
        return []
    if choice == 8:
        return {}
    if choice == 9:
        return [rng.choice(ODD_TEXT), rng.choice(HUGE_NUMBERS), None]
    if choice == 10:
        return {"type": rng.choice(ODD_TEXT), "sdp": rng.choice(ODD_TEXT), "x": [1, {}]}
    if choice == 11:
        return Deep(rng.choice([3, 8, 9, 50, 999, 1001, 5000, 20_000]))
    if choice == 12:
        return Raw(rng.choice(["NaN", "Infinity", "-Infinity", "1e99999", "-0", "1" * 5000]))
    return rng.random() * rng.choice([1, -1, 1e20])


class Deep:
    """Nesting `depth` deep, written straight into the frame's text (json.dumps would
    itself run out of stack)."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def text(self, rng: random.Random) -> str:
        if rng.random() < 0.5:
            return "[" * self.depth + "]" * self.depth
        return '{"a":' * self.depth + "1" + "}" * self.depth


class Raw:
    """A token written as it is into the text (NaN, a 5,000-digit number...)."""

    def __init__(self, token: str) -> None:
        self.token = token


def mutate(message: dict[str, Any], rng: random.Random) -> str:
    """One broken frame made from this message (a frame may, by chance, still be valid)."""
    frame = json.loads(json.dumps(message))
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        frame = _mutate_once(frame, rng)
    return _render(frame, rng)


def _mutate_once(frame: Any, rng: random.Random) -> Any:
    if not isinstance(frame, dict):
        return frame
    fields = list(frame)
    choice = rng.randrange(10)
    if choice <= 3 and fields:  # a field of the wrong kind (the commonest)
        frame[rng.choice(fields)] = wrong_values(rng)
    elif choice == 4 and fields:  # a field dropped
        del frame[rng.choice(fields)]
    elif choice == 5:  # an extra field
        name = rng.choice(["to", "recipient", "as", "role", "is_host", "file", "x", *ODD_TEXT[:12]])
        frame[name] = wrong_values(rng)
    elif choice == 6:  # a nested object broken inside
        inner = [key for key, value in frame.items() if isinstance(value, dict)]
        if inner:
            key = rng.choice(inner)
            frame[key] = _mutate_once(frame[key], rng)
        else:
            frame["jsep"] = wrong_values(rng)
    elif choice == 7:
        frame["type"] = rng.choice(
            [
                ["chat"],
                {},
                {"chat": 1},
                None,
                1,
                True,
                "",
                "CHAT",
                "chat ",
                "unmute",
                "record",
                "__class__",
                wrong_values(rng),
            ]
        )
    elif choice == 8:
        frame["id"] = wrong_values(rng)
    else:  # the frame is not an object at all
        return rng.choice([[frame], frame.get("type"), wrong_values(rng), "", [], 1])
    return frame


def _render(frame: Any, rng: random.Random) -> str:
    """The frame as text, with its Deep and Raw values written in, and sometimes the
    text itself broken."""
    specials: dict[str, str] = {}

    def encode(value: Any) -> Any:
        if isinstance(value, Deep | Raw):
            marker = f"@@special{len(specials)}@@"
            specials[marker] = value.text(rng) if isinstance(value, Deep) else value.token
            return marker
        if isinstance(value, dict):
            return {key: encode(item) for key, item in value.items()}
        if isinstance(value, list):
            return [encode(item) for item in value]
        return value

    text = json.dumps(encode(frame), ensure_ascii=rng.random() < 0.5)
    for marker, written in specials.items():
        text = text.replace(json.dumps(marker), written)
    damage = rng.randrange(12)
    if damage == 0 and text:  # cut short
        text = text[: rng.randrange(len(text))]
    elif damage == 1 and text:  # one character replaced
        at = rng.randrange(len(text))
        text = text[:at] + rng.choice(['"', "{", "]", "\\", "\u0000", "é", ","]) + text[at + 1 :]
    elif damage == 2:  # a key twice
        text = text.replace('{"type"', '{"type": ["x"], "type"', 1)
    elif damage == 3:
        text = text + rng.choice(["", " ", "}", "{}", "\n", "garbage"])
    return text


def frames(messages: list[dict[str, Any]], count: int, seed: int) -> Iterator[str]:
    """`count` mutated frames of these messages, the same ones for the same seed."""
    rng = random.Random(seed)
    for _ in range(count):
        yield mutate(rng.choice(messages), rng)
