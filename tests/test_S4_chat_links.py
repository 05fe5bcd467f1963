"""Rule S4 in chat (issue 20, item 3): every kind of link is flagged, a data URL is refused
as the file it is, and invisible characters cannot make a message look like another.

Mostly in-process (the text rules, and the chat action on Django's test database), plus
one check over the live socket.
"""

import datetime as dt

import pytest

from haven.chat import actions as chat
from haven.chat.models import ChatMessage
from haven.chat.text import clean_and_report, has_data_url, has_link
from haven.invitations.models import Invitation
from haven.meetings.models import Meeting as MeetingRow
from haven.room.actions import Refused
from haven.room.models import Participant
from tests.harness import flows
from tests.harness.unit import scheduled_meeting
from tests.test_in_meeting_protocol import admitted, start_meeting

LINKS = [
    "javascript:window.x=1",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",  # browsers drop tabs and newlines inside a URL
    "click javascript: alert(1)",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "file:c:/windows",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "data:image/png;base64,iVBORw0KGgo=",
    "mailto:someone@example.org",
    "blob:https://example.org/1234",
    "see https://example.org/form",
    "gopher://old.example",
    "my-app://open?x=1",
    "www.example.org",
    "example.org",
    "go to council.gov.uk/appeals please",
    "EXAMPLE.COM",
    "sam@example.org",
    "пример.рф",
    "192.168.1.1/admin",
]
NOT_LINKS = [
    "no link here, just 3.5 hours",
    "Note: we meet at 10:30.",
    "Let us talk about: money",
    "The data: 3 of 4 agreed",
    "e.g. this, i.e. that",
    "v1.2.3",
    "Thank you, that helps.",
]


@pytest.mark.parametrize("text", LINKS)
def test_S4_every_kind_of_link_is_flagged(text):
    assert has_link(text), text


@pytest.mark.parametrize("text", NOT_LINKS)
def test_S4_ordinary_words_are_not_flagged(text):
    assert not has_link(text), text


def test_S4_a_data_url_anywhere_is_found_and_nothing_else_is():
    for text in (
        "data:text/html;base64,PHNjcmlwdD4=",
        "here it is: DATA:image/png;base64,iVBOR",
        "data:,hello",
        "data:text/plain;charset=utf-8,hi",
        "da\nta:text/html,<b>",  # newlines dropped, as a browser would
    ):
        assert has_data_url(text), text
    for text in ("The data: 3 of 4", "metadata:text/plain,", "database:x", "data"):
        assert not has_data_url(text), text


def test_S4_invisible_characters_are_removed_and_named():
    cases = {
        "he\u200bllo": ("hello", ["U+200B ZERO WIDTH SPACE"]),
        "invoice\u202efdp.exe": ("invoicefdp.exe", ["U+202E RIGHT-TO-LEFT OVERRIDE"]),
        "\u2066x\u2069": ("x", ["U+2066 LEFT-TO-RIGHT ISOLATE", "U+2069 POP DIRECTIONAL ISOLATE"]),
        "\u200e\u200fa\u202a\u202b\u202c\u202d": (
            "a",
            [
                "U+200E LEFT-TO-RIGHT MARK",
                "U+200F RIGHT-TO-LEFT MARK",
                "U+202A LEFT-TO-RIGHT EMBEDDING",
                "U+202B RIGHT-TO-LEFT EMBEDDING",
                "U+202C POP DIRECTIONAL FORMATTING",
                "U+202D LEFT-TO-RIGHT OVERRIDE",
            ],
        ),
        "w\u2060w\u2060w.example": ("www.example", ["U+2060 WORD JOINER"]),
        "\ufeffhi\u00ad": ("hi", ["U+FEFF ZERO WIDTH NO-BREAK SPACE", "U+00AD SOFT HYPHEN"]),
        "a\U000e0067\U000e0069b": (
            "ab",
            ["U+E0067 TAG LATIN SMALL LETTER G", "U+E0069 TAG LATIN SMALL LETTER I"],
        ),
        "\u3164": ("", ["U+3164 HANGUL FILLER"]),
        "x\u200dy": ("xy", ["U+200D ZERO WIDTH JOINER"]),  # not between emoji
        "x\u200b\u200by": ("xy", ["U+200B ZERO WIDTH SPACE"]),  # named once
    }
    for text, (kept, removed) in cases.items():
        cleaned = clean_and_report(text)
        assert (cleaned.text, cleaned.removed) == (kept, removed), text


def test_S4_what_emoji_and_scripts_need_is_kept():
    for text in (
        "\U0001f469\u200d\U0001f4bb",  # woman technologist (ZWJ)
        "\U0001f469\U0001f3fd\u200d\U0001f4bb",  # with a skin tone
        "\u2764\ufe0f\u200d\U0001f525",  # heart on fire (VS16 and ZWJ)
        "1\ufe0f\u20e3",  # keycap one
        "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # Scotland
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian, with a ZWNJ
        "\u0915\u094d\u200c\u0937",  # Devanagari, with a ZWNJ
    ):
        cleaned = clean_and_report(text)
        assert (cleaned.text, cleaned.removed) == (text, []), text


def test_S4_hidden_characters_cannot_hide_a_link():
    assert has_link(clean_and_report("www\u200b.\u200bexample\u200b.org").text)
    assert has_link(clean_and_report("java\u200bscript:alert(1)").text)


@pytest.fixture
def sam(db):
    meeting = scheduled_meeting()
    MeetingRow.objects.filter(pk=meeting.pk).update(state=MeetingRow.State.LIVE)
    invitation = Invitation.objects.create(
        meeting=meeting,
        name="Sam Carter",
        email="sam@example.org",
        role="parent_carer",
        expires_at=meeting.starts_at + dt.timedelta(days=1),
        invited_by=meeting.host,
    )
    return Participant.objects.create(
        public_id="p_5a", meeting=meeting, invitation=invitation, name="Sam",
        state=Participant.State.ADMITTED,
    )  # fmt: skip


def test_S4_the_chat_action_refuses_a_data_url_and_stores_no_hidden_characters(sam):
    for text in ("data:text/html;base64,PHNjcmlwdD4=", "look: data:image/png;base64,iVBOR"):
        with pytest.raises(Refused) as refused:
            chat.do_send_chat(sam, text)
        assert refused.value.decision.code == "bad_message"
        assert "email" in refused.value.decision.message
    # Hidden in a data URL does not get it through either.
    with pytest.raises(Refused):
        chat.do_send_chat(sam, "da\u200bta:text/html,<script>")
    assert not ChatMessage.objects.exists()
    sent = chat.do_send_chat(sam, "Invoice\u202efdp.exe at javascript:x()")
    assert sent.removed == ["U+202E RIGHT-TO-LEFT OVERRIDE"]
    stored = ChatMessage.objects.get()
    assert stored.text == "Invoicefdp.exe at javascript:x()"
    assert chat.chat_item(stored).has_link is True
    with pytest.raises(Refused) as refused:
        chat.do_send_chat(sam, "\u200b\u202e\u3164")
    assert refused.value.decision.message == "The message is empty."


def test_S4_live_links_are_flagged_data_urls_refused_and_the_sender_told_what_was_removed(stack):
    meeting = start_meeting(stack)
    one, _, _ = admitted(stack, meeting, "Oli One")
    reply = one.request({"type": "chat", "text": "javascript:window.x=1"})
    assert reply["type"] == "chat_sent" and "removed" not in reply
    assert one.expect("chat")["message"]["has_link"] is True
    refused = one.request({"type": "chat", "text": "data:text/html;base64,PHNjcmlwdD4="})
    assert refused["type"] == "error" and refused["code"] == "bad_message"
    reply = one.request({"type": "chat", "text": "pay\u200b here: www\u200b.example\u200b.org"})
    assert reply["removed"] == ["U+200B ZERO WIDTH SPACE"]
    message = meeting.host.expect("chat")["message"]
    while message["text"] != "pay here: www.example.org":  # the host saw the first one too
        message = meeting.host.expect("chat")["message"]
    assert message["has_link"] is True
    flows.greet(one)  # the connection is still served
