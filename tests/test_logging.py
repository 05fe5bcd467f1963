"""Haven's log (HAVEN_LOG_FORMAT=json in the stack): JSON lines, and no personal data (D5).

A whole meeting runs (sign-in, invitation, consent, waiting room, admission, chat, end)
with names, emails and chat text found nowhere else; then every line Haven wrote must be
a JSON object, the meeting's own lines must be there, and none of those words may be.
"""

import json
import logging
import re
import secrets

from haven.ops.logs import JsonFormatter, RedactPersonalData
from tests.harness import flows
from tests.harness.flows import Socket

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def test_D5_the_server_log_is_json_and_names_nobody(stack):
    start = stack.log.stat().st_size
    tag = secrets.token_hex(3)
    host_name, attendee_name = f"Quentin Hostly{tag}", f"Petra Waitwell{tag}"
    title, chat = f"Review for Jo Bloggs{tag}", f"My phone is 07700 900{tag[:3]} call me"
    host_email = flows.unique_email("loghost")
    password = stack.create_staff(host_email, name=host_name)
    host_client = stack.http()
    flows.sign_in_with(host_client, host_email, password)
    meeting_id = flows.create_meeting(host_client, title=title)
    invited = flows.invite(stack, host_client, meeting_id, name=attendee_name)
    attendee_client = flows.enter_passcode(stack, invited)
    # A wrong path under the personal link: Django logs "Not Found: <path>".
    link_path = flows.path_of(stack, invited.link)
    assert attendee_client.get(link_path + "nothing-here/").status_code == 404

    host = Socket(stack, host_client, meeting_id)
    flows.join(host)
    attendee = Socket(stack, attendee_client, meeting_id)
    flows.join(attendee)
    listed = host.expect("waiting_list")["waiting"]
    host.send({"type": "admit", "participant": listed[0]["participant"]})
    attendee.expect("admitted")
    attendee.send({"type": "chat", "text": chat})
    host.expect("chat")
    host.send({"type": "end_meeting"})
    attendee.expect("meeting_ended")
    host.expect("meeting_ended")

    text = stack.log.read_text(encoding="utf-8")
    entries = [json.loads(line) for line in text.splitlines()]  # every line, not just ours
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    ours = [json.loads(line) for line in text[start:].splitlines()]
    events = {entry.get("event") for entry in ours if entry.get("meeting") == meeting_id}
    assert {"meeting.started", "room.admitted", "meeting.ended"} <= events, events
    assert any("/join/[token]/nothing-here/" in entry["message"] for entry in ours), ours
    for secret in (
        host_name,
        attendee_name,
        host_email,
        invited.email,
        title,
        chat,
        invited.passcode,
        link_path.strip("/").split("/")[-1],
    ):
        assert secret not in text, secret
    assert EMAIL.findall(text) == []


def test_D5_emails_and_tokens_are_taken_out_of_any_log_line():
    """What Haven does not write itself, such as an SMTP error quoting a recipient."""
    record = logging.makeLogRecord(
        {
            "name": "haven.invitations.emails",
            "levelno": logging.ERROR,
            "levelname": "ERROR",
            "msg": "Could not send: %s",
            "args": ({"sam.carter@example.org": (550, "no such user")},),
            "path": "/consent/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-xy/",
        }
    )
    assert RedactPersonalData().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "Could not send: {'[email]': (550, 'no such user')}"
    assert line["path"] == "/consent/[token]/"
    assert line["level"] == "ERROR" and line["logger"] == "haven.invitations.emails"
