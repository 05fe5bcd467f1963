"""ASVS 4.4.2: the meeting WebSocket opens only from an allowed Origin (HAVEN_ALLOWED_ORIGINS).

A page of another site, or of another port or scheme of this host, cannot open a meeting
socket with a visitor's cookies. The request here is otherwise exactly right: a signed-in
host of the meeting, with their session cookie.
"""

import json

import pytest
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.sync.client import unix_connect

from tests.harness import flows


@pytest.fixture(scope="module")
def host_meeting(stack):
    client, _ = flows.sign_in(stack)
    return client, flows.create_meeting(client)


def open_socket(stack, client, meeting_id, origin: str | None):
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    headers = {"Cookie": cookie} | ({"Origin": origin} if origin is not None else {})
    return unix_connect(
        str(stack.socket_path),
        uri=f"ws://localhost:{stack.port}/ws/meetings/{meeting_id}/",
        additional_headers=headers,
        open_timeout=10,
    )


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://localhost.evil.example:{port}",
        "http://localhost:{other}",
        "https://localhost:{port}",
        "http://127.0.0.1:{port}",
        "null",
        "",
        None,
    ],
)
def test_ASVS_4_4_2_a_socket_from_another_origin_is_refused(stack, host_meeting, origin):
    client, meeting_id = host_meeting
    if origin is not None:
        origin = origin.format(port=stack.port, other=stack.port + 1)
    with pytest.raises(InvalidStatus) as refused:
        open_socket(stack, client, meeting_id, origin)
    assert refused.value.response.status_code == 403


def test_ASVS_4_4_2_a_socket_from_havens_own_origin_is_accepted(stack, host_meeting):
    client, meeting_id = host_meeting
    with open_socket(stack, client, meeting_id, stack.base_url) as socket:
        socket.send(json.dumps({"type": "hello", "protocol": 1}))
        assert json.loads(socket.recv(timeout=10))["type"] == "welcome"


def log_size(stack) -> int:
    return stack.log.stat().st_size


def errors_logged_since(stack, offset: int) -> list[str]:
    """Lines at ERROR or worse (or a traceback) that Haven logged after `offset`."""
    found = []
    with stack.log.open("rb") as file:
        file.seek(offset)
        for raw in file.read().decode(errors="replace").splitlines():
            try:
                level = json.loads(raw).get("level")
            except ValueError:
                level = "ERROR" if "Traceback" in raw else None
            if level in ("ERROR", "CRITICAL"):
                found.append(raw)
    return found


@pytest.mark.parametrize(
    "origin",
    [
        "HTTP://LOCALHOST:{port}x",
        "http://localhost:{port}x",
        "http://localhost:99999999",
        "http://localhost:-1",
        "http://[::1",
        "http://[not-an-address]:{port}",
        "\u00ff\u00fe://localhost:{port}",
    ],
)
def test_hardening_an_origin_that_cannot_be_read_is_refused_403_not_500(
    stack, host_meeting, origin
):
    client, meeting_id = host_meeting
    offset = log_size(stack)
    with pytest.raises(InvalidStatus) as refused:
        open_socket(stack, client, meeting_id, origin.format(port=stack.port))
    assert refused.value.response.status_code == 403
    assert errors_logged_since(stack, offset) == []


def test_hardening_two_origin_headers_are_refused(stack, host_meeting):
    """(The WebSocket library refuses them itself, with 400; the validator would too.)"""
    client, meeting_id = host_meeting
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    headers = [("Cookie", cookie), ("Origin", stack.base_url), ("Origin", "https://evil.example")]
    with pytest.raises(InvalidStatus) as refused:
        unix_connect(
            str(stack.socket_path),
            uri=f"ws://localhost:{stack.port}/ws/meetings/{meeting_id}/",
            additional_headers=headers,
            open_timeout=10,
        )
    assert refused.value.response.status_code in (400, 403)


@pytest.mark.parametrize(
    "path",
    [
        "/ws/meetings/..%2f..%2fadmin/",
        "/ws/meetings/{meeting}/extra/",
        "/ws/meetings/",
        "/ws/",
        "/ws/admin/",
        "/admin/",
        "/",
    ],
)
def test_hardening_a_socket_path_that_is_no_meetings_is_refused_404_not_500(
    stack, host_meeting, path
):
    client, meeting_id = host_meeting
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    offset = log_size(stack)
    with pytest.raises(InvalidStatus) as refused:
        unix_connect(
            str(stack.socket_path),
            uri=f"ws://localhost:{stack.port}{path.format(meeting=meeting_id)}",
            additional_headers={"Cookie": cookie, "Origin": stack.base_url},
            open_timeout=10,
        )
    assert refused.value.response.status_code == 404
    assert errors_logged_since(stack, offset) == []


def test_hardening_a_text_frame_that_is_not_utf8_is_closed_1007_quietly(stack, host_meeting):
    client, meeting_id = host_meeting
    offset = log_size(stack)
    with open_socket(stack, client, meeting_id, stack.base_url) as socket:
        socket.send(json.dumps({"type": "hello", "protocol": 1}))
        assert json.loads(socket.recv(timeout=10))["type"] == "welcome"
        socket.send(b'{"type": "chat", "text": "\xff\xfe"}', text=True)  # as text, not UTF-8
        with pytest.raises(ConnectionClosedError) as closed:
            socket.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007
    assert errors_logged_since(stack, offset) == []
    # And the next connection is served as ever.
    with open_socket(stack, client, meeting_id, stack.base_url) as socket:
        socket.send(json.dumps({"type": "hello", "protocol": 1}))
        assert json.loads(socket.recv(timeout=10))["type"] == "welcome"


def test_hardening_a_frame_too_big_to_read_is_closed_1009_quietly(stack, host_meeting):
    client, meeting_id = host_meeting
    offset = log_size(stack)
    with open_socket(stack, client, meeting_id, stack.base_url) as socket:
        socket.send("x" * 300_000)  # more than uvicorn reads (4 x MAX_FRAME bytes)
        with pytest.raises(ConnectionClosedError) as closed:
            socket.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert errors_logged_since(stack, offset) == []
