"""Operations against the live stack: /healthz, /readyz, /metrics and the server's log."""

import contextlib
import json
import logging
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from haven.ops.logs import JsonFormatter, RedactPersonalData
from tests.harness import database, flows
from tests.harness.flows import Socket
from tests.harness.netns import run_in_namespace

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
METRICS = (
    "haven_meetings_open",
    "haven_participants_in_rooms",
    "haven_participants_waiting",
    "haven_janus_servers",
    "haven_janus_servers_up",
)


def metrics(stack) -> dict[str, float]:
    token = stack.env["HAVEN_METRICS_TOKEN"]
    with stack.http() as client:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    families = text_string_to_metric_families(response.text)
    return {sample.name: sample.value for family in families for sample in family.samples}


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore:No directory at")  # no collected static in unit tests
def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:  # it ended just now
        return b""


def open_database_connections(stack) -> int:
    """How many connections the live Haven process holds to its database now."""
    if stack.db.kind == "postgres":
        sql = (
            "SELECT count(*) AS n FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(database.query(stack, sql)[0]["n"])
    # Only the processes still running (a fault test's Redis, say, may have ended).
    [server] = [p.pid for p in stack.processes if p.poll() is None and b"serve" in _cmdline(p.pid)]
    links = []
    for fd in Path(f"/proc/{server}/fd").iterdir():
        with contextlib.suppress(OSError):
            links.append(os.readlink(fd))
    return links.count(str(stack.db.path))


def test_page_requests_leave_no_database_connections_open_behind_them(stack):
    """Under ASGI each page request runs in a thread of its own, and SQLite connections
    are kept open for the meeting connections' thread: each request's must close with it
    (without that, 300 requests left over 20 open)."""
    host, _ = flows.sign_in(stack)
    before = open_database_connections(stack)
    for _ in range(300):
        assert host.get("/staff/").status_code == 200
    # The server's few long-lived threads (meeting connections, heartbeat) keep theirs.
    assert open_database_connections(stack) <= before + 3


def test_healthz_and_readyz_on_the_live_server(stack):
    with stack.http() as client:
        health = client.get("/healthz")
        ready = client.get("/readyz")
        assert client.post("/healthz").status_code in {403, 405}  # CSRF, or GET only
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert ready.status_code == 200, ready.text
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "channel_layer": "ok", "media": "ok"},
    }


def test_readyz_says_not_ready_while_janus_is_down_and_ready_again_after(stack):
    assert stack.janus_process is not None
    stack.janus_process.kill()
    try:
        with stack.http() as client:
            response = client.get("/readyz")
            assert client.get("/healthz").status_code == 200  # alive, just not ready
    finally:
        run_in_namespace(stack.namespace, stack.janus_process.start)
    assert response.status_code == 503
    assert response.json() == {
        "status": "not ready",
        "checks": {"database": "ok", "channel_layer": "ok", "media": "unavailable"},
    }
    assert metrics(stack)["haven_janus_servers"] == 1
    # The client reconnects on its own; wait for it rather than for a fixed time.
    deadline = time.monotonic() + 30
    with stack.http() as client:
        while (status := client.get("/readyz").status_code) != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
    assert status == 200


def test_metrics_need_the_token(stack):
    token = stack.env["HAVEN_METRICS_TOKEN"]
    with stack.http() as client:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Bearer {token}x"},
            {"Authorization": f"Basic {token}"},
            {"Authorization": token},
        ):
            response = client.get("/metrics", headers=headers)
            assert response.status_code == 404, headers
            assert "haven_" not in response.text
        # Nothing else than a scrape either.
        assert client.post(
            "/metrics", headers={"Authorization": f"Bearer {token}"}
        ).status_code in {403, 405}
    assert set(METRICS) <= set(metrics(stack))


@dataclass
class Flow:
    """One whole meeting, with the metrics at each stage and what Haven logged meanwhile."""

    meeting_id: str
    secrets: list[str]
    metrics: dict[str, dict[str, float]]
    metrics_text: str
    log_start: int


@pytest.fixture(scope="module")
def flow(stack) -> Flow:
    """Sign-in, invitation, consent, waiting room, admission, chat, end; with names,
    emails, a title and chat text found nowhere else."""
    log_start = stack.log.stat().st_size
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
    seen = {"before": metrics(stack)}

    host = Socket(stack, host_client, meeting_id)
    flows.join(host)
    attendee = Socket(stack, attendee_client, meeting_id)
    flows.join(attendee)
    listed = host.expect("waiting_list")["waiting"]
    seen["waiting"] = metrics(stack)
    host.send({"type": "admit", "participant": listed[0]["participant"]})
    attendee.expect("admitted")
    seen["admitted"] = metrics(stack)
    attendee.send({"type": "chat", "text": chat})
    host.expect("chat")
    host.send({"type": "end_meeting"})
    attendee.expect("meeting_ended")
    host.expect("meeting_ended")
    seen["ended"] = metrics(stack)
    with stack.http() as client:
        token = stack.env["HAVEN_METRICS_TOKEN"]
        text = client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text
    words = [host_name, attendee_name, host_email, invited.email, title, chat, invited.passcode]
    words.append(link_path.strip("/").split("/")[-1])
    return Flow(meeting_id, words, seen, text, log_start)


def test_metrics_count_meetings_participants_and_the_waiting_room(flow):
    before, waiting = flow.metrics["before"], flow.metrics["waiting"]
    admitted, ended = flow.metrics["admitted"], flow.metrics["ended"]
    assert before["haven_janus_servers_up"] == 1
    assert waiting["haven_meetings_open"] == before["haven_meetings_open"] + 1
    assert waiting["haven_participants_in_rooms"] == before["haven_participants_in_rooms"] + 1
    assert waiting["haven_participants_waiting"] == before["haven_participants_waiting"] + 1
    assert admitted["haven_participants_in_rooms"] == before["haven_participants_in_rooms"] + 2
    assert admitted["haven_participants_waiting"] == before["haven_participants_waiting"]
    assert ended["haven_meetings_open"] == before["haven_meetings_open"]
    assert ended["haven_participants_in_rooms"] == before["haven_participants_in_rooms"]
    # Counts only: no names, titles or ids of anyone or anything.
    assert flow.meeting_id not in flow.metrics_text and "@" not in flow.metrics_text
    assert not any(word in flow.metrics_text for word in flow.secrets)


def test_D5_the_server_log_is_json_and_names_nobody(stack, flow):
    """HAVEN_LOG_FORMAT=json in the stack: every line Haven wrote is a JSON object, the
    meeting's audited actions are there, and none of the flow's personal words are."""
    text = stack.log.read_text(encoding="utf-8")
    entries = [json.loads(line) for line in text.splitlines()]  # every line, not just ours
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    ours = [json.loads(line) for line in text[flow.log_start :].splitlines()]
    events = {entry.get("event") for entry in ours if entry.get("meeting") == flow.meeting_id}
    assert {"meeting.started", "room.admitted", "meeting.ended"} <= events, events
    assert any("/join/[token]/nothing-here/" in entry["message"] for entry in ours), ours
    for word in flow.secrets:
        assert word not in text, word
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
