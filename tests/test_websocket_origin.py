"""ASVS 4.4.2: the meeting WebSocket opens only from an allowed Origin (HAVEN_ALLOWED_ORIGINS).

A page of another site, or of another port or scheme of this host, cannot open a meeting
socket with a visitor's cookies. The request here is otherwise exactly right: a signed-in
host of the meeting, with their session cookie.
"""

import json

import pytest
from websockets.exceptions import InvalidStatus
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
