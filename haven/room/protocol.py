"""The browser<->server protocol, version 1 (docs/protocol.md), as schemas.

Every client message is validated against these models, which forbid unknown fields.
The server builds every message it sends from the server models, so tests can check
what it emits against the same schemas.
"""

import datetime as dt
import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

PROTOCOL_VERSION = 1
MAX_SDP = 20_000
MAX_FRAME = 64_000

RequestId = Annotated[int, Field(ge=0, le=2**31)] | Annotated[str, Field(max_length=64)]
PublicId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^p_[0-9a-f]+$")]
FeedId = Annotated[int, Field(ge=1, le=2**53)]


class ProtocolError(Exception):
    """A message the server will not act on, with the stable code sent back."""

    def __init__(self, code: str, message: str, request_id: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class OfferJsep(_Strict):
    type: Literal["offer"]
    sdp: str = Field(min_length=10, max_length=MAX_SDP)


class AnswerJsep(_Strict):
    type: Literal["answer"]
    sdp: str = Field(min_length=10, max_length=MAX_SDP)


class Candidate(_Strict):
    candidate: str = Field(max_length=500)
    sdpMid: str | None = Field(default=None, max_length=32)
    sdpMLineIndex: int | None = Field(default=None, ge=0, le=16)
    usernameFragment: str | None = Field(default=None, max_length=256)


class _ClientMessage(_Strict):
    id: RequestId | None = None


class Hello(_ClientMessage):
    type: Literal["hello"]
    protocol: int


class Join(_ClientMessage):
    type: Literal["join"]
    private_place_confirmed: bool
    # The secret from an earlier `joined` or `waiting`, to carry on where that left off.
    resume: Annotated[str, Field(min_length=20, max_length=100)] | None = None


class Admit(_ClientMessage):
    type: Literal["admit"]
    participant: PublicId


Source = Literal["camera", "screen"]
Reason = Annotated[str, Field(min_length=1, max_length=500)]


class Publish(_ClientMessage):
    type: Literal["publish"]
    source: Source = "camera"
    jsep: OfferJsep


class Unpublish(_ClientMessage):
    type: Literal["unpublish"]
    source: Source


class AdmitAll(_ClientMessage):
    type: Literal["admit_all"]


class TurnAway(_ClientMessage):
    type: Literal["turn_away"]
    participant: PublicId
    message: str = Field(default="", max_length=200)


class Lock(_ClientMessage):
    type: Literal["lock"]


class Unlock(_ClientMessage):
    type: Literal["unlock"]


class Remove(_ClientMessage):
    type: Literal["remove"]
    participant: PublicId
    reason: Reason


def _a_real_date(value: str) -> str:
    dt.date.fromisoformat(value)  # ValueError (bad_message) for 2027-02-30
    return value


IsoDate = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$"), AfterValidator(_a_real_date)]


class Ban(_ClientMessage):
    type: Literal["ban"]
    participant: PublicId
    reason: Reason
    # When the ban is reviewed, or ends by itself (S8); the policy's default if absent.
    review_on: IsoDate | None = None


class Ask(_ClientMessage):
    type: Literal["ask"]
    participant: PublicId | None
    what: Literal["mute", "camera_off"]


class Mute(_ClientMessage):
    type: Literal["mute"]
    participant: PublicId | None


class UnmuteSelf(_ClientMessage):
    type: Literal["unmute_self"]


class CameraOnSelf(_ClientMessage):
    """Names nobody, as unmute_self: only the sender's own camera (P3, V3)."""

    type: Literal["camera_on_self"]


class RaiseHand(_ClientMessage):
    """Your own hand only: there is no field naming anyone, so nobody raises another's."""

    type: Literal["raise_hand"]


class LowerHand(_ClientMessage):
    """Your own hand (no `participant`, or your own id); the host may name anyone's."""

    type: Literal["lower_hand"]
    participant: PublicId | None = None


class Subscribe(_ClientMessage):
    type: Literal["subscribe"]
    feed: FeedId


class SubscribeAnswer(_ClientMessage):
    type: Literal["subscribe_answer"]
    feed: FeedId
    jsep: AnswerJsep


class Trickle(_ClientMessage):
    type: Literal["trickle"]
    feed: FeedId | None
    candidate: Candidate | None


class Leave(_ClientMessage):
    type: Literal["leave"]


class EndMeeting(_ClientMessage):
    type: Literal["end_meeting"]
    transcript: Literal["keep", "destroy"] = "keep"


class SendChat(_ClientMessage):
    """To everyone in the meeting. There is no recipient field: no private chat (S5)."""

    type: Literal["chat"]
    text: str = Field(min_length=1, max_length=1000)


class RemoveChat(_ClientMessage):
    type: Literal["chat_remove"]
    message: str = Field(pattern=r"^m_[0-9a-f]{16}$")


CLIENT_MODELS = (
    Hello,
    Join,
    Admit,
    AdmitAll,
    TurnAway,
    Lock,
    Unlock,
    Remove,
    Ban,
    Ask,
    Mute,
    UnmuteSelf,
    CameraOnSelf,
    RaiseHand,
    LowerHand,
    Publish,
    Unpublish,
    Subscribe,
    SubscribeAnswer,
    Trickle,
    Leave,
    EndMeeting,
    SendChat,
    RemoveChat,
)
ClientMessage = Annotated[
    Hello
    | Join
    | Admit
    | AdmitAll
    | TurnAway
    | Lock
    | Unlock
    | Remove
    | Ban
    | Ask
    | Mute
    | UnmuteSelf
    | CameraOnSelf
    | RaiseHand
    | LowerHand
    | Publish
    | Unpublish
    | Subscribe
    | SubscribeAnswer
    | Trickle
    | Leave
    | EndMeeting
    | SendChat
    | RemoveChat,
    Field(discriminator="type"),
]
CLIENT_TYPES = frozenset(
    model.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
    for model in CLIENT_MODELS
)


# The deepest nesting a client message has is 3 (trickle: message, candidate, value);
# anything much deeper is not a message of this protocol, and is refused before anything
# walks it. A frame of MAX_FRAME characters could otherwise nest 32,000 deep.
MAX_DEPTH = 8
MODEL_FOR_TYPE: dict[str, type[_ClientMessage]] = {
    model.model_fields["type"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in CLIENT_MODELS
}
NOT_AN_OBJECT = "Send one JSON object per text frame."


def parse_client_message(text: str | None) -> ClientMessage:
    """Turn one frame into a validated message, or raise ProtocolError with a stable code.

    Total: whatever the frame holds, the answer is a message or a ProtocolError with
    `bad_json`, `unknown_type` or `bad_message` (docs/protocol.md, "Malformed frames"),
    never another exception.
    """
    raw = _json_object(text)
    request_id = _request_id(raw.get("id"))
    kind = raw.get("type")
    # A `type` that is not a string (a list, an object, a number, null) names no message.
    model = MODEL_FOR_TYPE.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise ProtocolError("unknown_type", "No message has that type.", request_id)
    try:
        return model.model_validate(raw)  # type: ignore[return-value]
    except ValidationError as exc:
        raise ProtocolError("bad_message", _describe(exc), request_id) from None
    except (RecursionError, ValueError, TypeError, OverflowError):
        # Not expected from pydantic on input already checked by _json_object; still a
        # client's malformed frame, never the server's failure.
        raise ProtocolError("bad_message", "That message is not valid.", request_id) from None


def _json_object(text: str | None) -> dict[str, Any]:
    """One JSON object, not too big, not too deep, whose strings are all real Unicode;
    else `bad_json`."""
    if not isinstance(text, str) or len(text) > MAX_FRAME:
        raise ProtocolError("bad_json", NOT_AN_OBJECT)
    try:
        raw = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        # ValueError: not JSON, NaN or Infinity, an integer of more than 4,300 digits.
        # RecursionError: nesting deeper than the decoder's own limit.
        raise ProtocolError("bad_json", "That was not valid JSON.") from None
    if not isinstance(raw, dict):
        raise ProtocolError("bad_json", NOT_AN_OBJECT)
    if not _well_formed(raw):
        raise ProtocolError(
            "bad_json",
            f"That was not a message: nested more than {MAX_DEPTH} deep, or text that "
            "is not valid Unicode.",
            _request_id(raw.get("id")),
        )
    return raw


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _well_formed(raw: dict[str, Any]) -> bool:
    """Nested at most MAX_DEPTH deep, and every string (keys too) encodable as UTF-8 (a
    lone surrogate such as "\\ud800" is valid JSON but no text). Iterative: never recurses."""
    pending: list[tuple[Any, int]] = [(raw, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if not _is_text(value):
                return False
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                return False
            if isinstance(value, dict):
                for key, item in value.items():
                    if not _is_text(key):
                        return False
                    pending.append((item, depth + 1))
            else:
                pending.extend((item, depth + 1) for item in value)
    return True


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _request_id(value: Any) -> int | str | None:
    """The `id` to echo as `re`, if it is one the protocol allows; else none at all (an id
    of any other kind is never echoed, so a reply always fits the server schema)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value <= 2**31:
        return value
    if isinstance(value, str) and len(value) <= 64 and _is_text(value):
        return value
    return None


def _describe(exc: ValidationError) -> str:
    """Which field, and what is wrong with it, for the error's text. Never raises: a
    description that fails is replaced by a plain one."""
    try:
        first = exc.errors(include_url=False, include_input=False)[0]
        parts = [str(part) for part in first["loc"] if not str(part).startswith("constrained-")]
        where = ".".join(parts)[:60] or "message"
        return f"{where}: {first['msg']}"[:200]
    except Exception:
        return "message: not valid"


# Server to client


class Person(_Strict):
    participant: str
    name: str
    role: str
    is_host: bool
    job_title: str | None = None
    staff_page: str | None = None
    flags: list[str] | None = None
    # The host's roster only: the adult named at consent for a child or a marked person (U5).
    supervised_by: str | None = None


class Feed(_Strict):
    feed: int
    participant: str
    source: Source = "camera"


class HostIdentity(_Strict):
    name: str
    job_title: str
    staff_page: str


class MeetingInfo(_Strict):
    title: str
    starts_at: str
    state: str
    recorded: Literal[False] = False
    host: HostIdentity


class You(_Strict):
    participant: str | None = None
    name: str
    role: str
    is_host: bool


class IceServer(_Strict):
    """A TURN server and a time-limited credential for it (TURN REST convention)."""

    urls: list[str]
    username: str
    credential: str


class _ServerMessage(_Strict):
    re: RequestId | None = None


class ChatItem(_Strict):
    id: str
    author: str
    author_is_host: bool
    participant: str | None
    text: str
    at: str
    # Links are shown as plain text with a warning, never made clickable (S4).
    has_link: bool


class Hand(_Strict):
    """A raised hand: whose, and when it went up."""

    participant: str
    raised_at: str


class Welcome(_ServerMessage):
    type: Literal["welcome"] = "welcome"
    protocol: int = PROTOCOL_VERSION
    you: You
    meeting: MeetingInfo


class Joined(_ServerMessage):
    type: Literal["joined"] = "joined"
    you: str
    locked: bool
    roster: list[Person]
    feeds: list[Feed]
    waiting: list[Person]
    chat: list[ChatItem]
    # Raised hands, in the order raised.
    hands: list[Hand] = []
    resume: str = ""
    # Only when the deployment has TURN (haven/media/turn.py); relay_only only in tests.
    ice_servers: list[IceServer] | None = None
    relay_only: bool | None = None


class WaitingMeeting(_Strict):
    title: str
    starts_at: str


class Waiting(_ServerMessage):
    type: Literal["waiting"] = "waiting"
    meeting: WaitingMeeting
    locked: bool
    message: str
    resume: str = ""


class WaitingList(_ServerMessage):
    type: Literal["waiting_list"] = "waiting_list"
    waiting: list[Person]


class Admitted(_ServerMessage):
    type: Literal["admitted"] = "admitted"
    you: str
    roster: list[Person]
    feeds: list[Feed]
    chat: list[ChatItem]
    # Raised hands, in the order raised.
    hands: list[Hand] = []
    # Only when the deployment has TURN (haven/media/turn.py); relay_only only in tests.
    ice_servers: list[IceServer] | None = None
    relay_only: bool | None = None
    # True when the meeting's type has attendees start muted with their camera off (P3),
    # until they turn each on themselves; absent otherwise.
    muted_on_entry: bool | None = None
    camera_off_on_entry: bool | None = None


class HeldBack(_Strict):
    """Someone `admit_all` left waiting, and why (S1: a second device; P3: the cap)."""

    participant: str
    name: str
    because: Literal["second_device", "meeting_full"]


class AdmittedAll(_ServerMessage):
    type: Literal["admitted_all"] = "admitted_all"
    admitted: int
    held_back: list[HeldBack]


class Roster(_ServerMessage):
    type: Literal["roster"] = "roster"
    roster: list[Person]


class Hands(_ServerMessage):
    """Every raised hand in the meeting, in the order raised (sent whenever one changes)."""

    type: Literal["hands"] = "hands"
    hands: list[Hand]


class Published(_ServerMessage):
    type: Literal["published"] = "published"
    feed: int
    jsep: AnswerJsep


class FeedAdded(_ServerMessage):
    type: Literal["feed_added"] = "feed_added"
    feed: Feed


class FeedRemoved(_ServerMessage):
    type: Literal["feed_removed"] = "feed_removed"
    feed: int


class SubscribeOffer(_ServerMessage):
    type: Literal["subscribe_offer"] = "subscribe_offer"
    feed: int
    jsep: OfferJsep


class Subscribed(_ServerMessage):
    type: Literal["subscribed"] = "subscribed"
    feed: int


class LockChanged(_ServerMessage):
    type: Literal["lock_changed"] = "lock_changed"
    locked: bool


class LockAttempt(_ServerMessage):
    type: Literal["lock_attempt"] = "lock_attempt"
    name: str


class TurnedAway(_ServerMessage):
    type: Literal["turned_away"] = "turned_away"
    message: str


class Removed(_ServerMessage):
    type: Literal["removed"] = "removed"


class Asked(_ServerMessage):
    type: Literal["asked"] = "asked"
    what: Literal["mute", "camera_off"]
    everyone: bool


class MutedByHost(_ServerMessage):
    type: Literal["muted_by_host"] = "muted_by_host"


class Unmuted(_ServerMessage):
    type: Literal["unmuted"] = "unmuted"


class CameraOn(_ServerMessage):
    """Answers camera_on_self: the sender's own video goes through (P3)."""

    type: Literal["camera_on"] = "camera_on"


class Chat(_ServerMessage):
    type: Literal["chat"] = "chat"
    message: ChatItem


class ChatSent(_ServerMessage):
    """The sender's acknowledgement: the message is stored."""

    type: Literal["chat_sent"] = "chat_sent"
    message: str
    # The invisible characters taken out before storing, each once ("U+202E RIGHT-TO-LEFT
    # OVERRIDE"); left out when there were none (S4, haven/chat/text.py).
    removed: list[str] | None = None


class ChatRemoved(_ServerMessage):
    type: Literal["chat_removed"] = "chat_removed"
    message: str


class MediaRestarted(_ServerMessage):
    type: Literal["media_restarted"] = "media_restarted"


class Left(_ServerMessage):
    type: Literal["left"] = "left"


class MeetingEnded(_ServerMessage):
    type: Literal["meeting_ended"] = "meeting_ended"


class Error(_ServerMessage):
    type: Literal["error"] = "error"
    code: str
    message: str


ServerMessage = Annotated[
    Welcome
    | Joined
    | Waiting
    | WaitingList
    | Admitted
    | AdmittedAll
    | Roster
    | Hands
    | Published
    | FeedAdded
    | FeedRemoved
    | SubscribeOffer
    | Subscribed
    | LockChanged
    | LockAttempt
    | TurnedAway
    | Removed
    | Asked
    | MutedByHost
    | Unmuted
    | CameraOn
    | Chat
    | ChatSent
    | ChatRemoved
    | MediaRestarted
    | Left
    | MeetingEnded
    | Error,
    Field(discriminator="type"),
]
server_message_adapter: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


def encode(message: BaseModel) -> str:
    """Serialise a server message, leaving out a `re` that answers nothing."""
    return message.model_dump_json(exclude_none=True)
