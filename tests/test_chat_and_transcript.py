"""Group chat (S4, S5) and the transcript at the end (S6), over the live protocol."""

import json
import re
import time

from tests.harness import database, flows
from tests.test_in_meeting_protocol import admitted, arrive, start_meeting


def test_S5_chat_goes_to_everyone_in_the_meeting_and_has_no_recipient(stack):
    meeting = start_meeting(stack)
    one, one_pid, _ = admitted(stack, meeting, "Oli One")
    two, _, _ = admitted(stack, meeting, "Tia Two")
    waiting, _, _, _ = arrive(stack, meeting, "Wes Waiting")
    # A recipient of any kind is refused: there is no private chat, host included.
    for extra in ({"to": meeting.host_pid}, {"recipient": one_pid}, {"private": True}):
        reply = one.request({"type": "chat", "text": "just for you", **extra})
        assert reply["code"] == "bad_message", reply
    meeting.host.send({"type": "chat", "text": "Hello everyone"})
    for socket in (one, two, meeting.host):
        message = socket.expect("chat")["message"]
        assert message["text"] == "Hello everyone" and message["author_is_host"] is True
    # S2: nothing reaches the waiting room.
    assert waiting.nothing_arrives(0.5) == []
    # Waiting people cannot chat either.
    assert waiting.request({"type": "chat", "text": "let me in"})["code"] == "not_allowed"


def test_S4_links_are_flagged_and_files_cannot_be_sent(stack):
    meeting = start_meeting(stack)
    one, _, _ = admitted(stack, meeting, "Oli One")
    one.send({"type": "chat", "text": "see www.example.org/form please"})
    assert one.expect("chat")["message"]["has_link"] is True
    one.send({"type": "chat", "text": "no link here, just 3.5 hours"})
    assert one.expect("chat")["message"]["has_link"] is False
    attachment = {"type": "chat", "text": "file", "file": "data:application/pdf;base64,AAAA"}
    assert one.request(attachment)["code"] == "bad_message"
    assert one.request({"type": "chat", "text": "x" * 1001})["code"] == "bad_message"
    assert one.request({"type": "chat", "text": "   "})["code"] == "bad_message"


def test_chat_is_rate_limited_and_the_connection_survives(stack):
    meeting = start_meeting(stack)
    one, _, _ = admitted(stack, meeting, "Oli One")
    codes = [one.request({"type": "chat", "text": f"message {n}"}).get("code") for n in range(8)]
    assert "rate_limited" in codes
    assert codes.index("rate_limited") == 5  # the allowance is 5 at once
    # The same connection goes on: once the allowance refills (one every 2 s), a message
    # is sent and reaches the host, and nothing was closed meanwhile.
    deadline = time.monotonic() + 10
    while (reply := one.request({"type": "chat", "text": "after the wait"}))["type"] == "error":
        assert reply["code"] == "rate_limited", reply
        assert time.monotonic() < deadline, "the allowance never came back"
        time.sleep(0.25)
    assert reply["type"] == "chat_sent", reply
    while (heard := meeting.host.expect("chat")["message"])["text"] != "after the wait":
        assert heard["text"].startswith("message "), heard
    assert one.request({"type": "hello", "protocol": 1})["type"] == "welcome"


def test_the_host_removes_a_message_for_everyone_and_history_comes_back_on_reconnect(stack):
    meeting = start_meeting(stack)
    one, _, invited = admitted(stack, meeting, "Oli One")
    one.send({"type": "chat", "text": "first"})
    first = one.expect("chat")["message"]
    one.send({"type": "chat", "text": "second"})
    second = one.expect("chat")["message"]
    assert one.request({"type": "chat_remove", "message": first["id"]})["code"] == "not_allowed"
    meeting.host.send({"type": "chat_remove", "message": first["id"]})
    assert one.expect("chat_removed") == {"type": "chat_removed", "message": first["id"]}
    # Reconnect: the history since admission, without the removed message.
    one.close()
    again = flows.Socket(stack, flows.enter_passcode(stack, invited), meeting.id)
    flows.join(again)
    person = meeting.waiting("Oli One")[0]
    meeting.host.send({"type": "admit", "participant": person["participant"]})
    history = again.expect("admitted")["chat"]
    assert [m["id"] for m in history] == [second["id"]]


def test_S6_the_transcript_is_kept_encrypted_with_a_retention_date_and_reads_are_audited(stack):
    meeting = start_meeting(stack)
    one, _, _ = admitted(stack, meeting, "Oli One")
    secret_words = "my son's diagnosis is private"
    one.send({"type": "chat", "text": secret_words})
    one.expect("chat")
    meeting.host.send({"type": "end_meeting", "transcript": "keep"})
    one.expect("meeting_ended")
    dump = database.dump_text(stack)
    [kept] = database.query(
        stack,
        "SELECT t.retain_until, t.ciphertext FROM records_transcript t JOIN meetings_meeting m"
        " ON m.id = t.meeting_id WHERE m.public_id = ?",
        meeting.id.replace("-", ""),
    )
    # Encrypted at rest: not in the stored bytes, nor anywhere in the database (the chat
    # rows are gone).
    assert kept["ciphertext"] and secret_words.encode() not in bytes(kept["ciphertext"])
    # (Past the apostrophe, which a dump writes doubled; blobs are dumped as hex.)
    assert "diagnosis is private" not in dump
    assert b"diagnosis is private".hex() not in dump.lower()
    assert kept["retain_until"]
    page = meeting.host_client.get(f"/records/{meeting.id}/transcript/")
    assert page.status_code == 200 and "my son&#x27;s diagnosis is private" in page.text
    download = meeting.host_client.get(f"/records/{meeting.id}/transcript.txt")
    assert secret_words in download.text
    actions = [row["action"] for row in stack.audit() if row["meeting_ref"] == meeting.id]
    assert {"transcript.kept", "transcript.read", "transcript.downloaded"} <= set(actions)
    # Another host cannot read it.
    other, _ = flows.sign_in(stack, "other")
    assert other.get(f"/records/{meeting.id}/transcript/").status_code == 404
    # Destroying it is final and audited.
    form = meeting.host_client.get(f"/records/{meeting.id}/transcript/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert token
    destroyed = meeting.host_client.post(
        f"/records/{meeting.id}/transcript/destroy/", data={"csrfmiddlewaretoken": token.group(1)}
    )
    assert destroyed.status_code == 302
    assert meeting.host_client.get(f"/records/{meeting.id}/transcript.txt").status_code == 404
    assert (
        "This transcript was destroyed"
        in meeting.host_client.get(f"/records/{meeting.id}/transcript/").text
    )
    rows = [r for r in stack.audit("transcript.destroyed") if r["meeting_ref"] == meeting.id]
    assert json.loads(rows[0]["details"]) == {"because": "host_chose"}


def test_S6_the_host_can_destroy_the_transcript_when_the_meeting_ends(stack):
    meeting = start_meeting(stack)
    one, _, _ = admitted(stack, meeting, "Oli One")
    one.send({"type": "chat", "text": "purple elephant 7391"})
    one.expect("chat")
    meeting.host.send({"type": "end_meeting", "transcript": "destroy"})
    one.expect("meeting_ended")
    assert meeting.host_client.get(f"/records/{meeting.id}/transcript.txt").status_code == 404
    dump = database.dump_text(stack)
    assert "purple elephant 7391" not in dump
    assert b"purple elephant 7391".hex() not in dump.lower()
