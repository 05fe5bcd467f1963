"""What people do, through Haven's public interfaces: pages over HTTP, the meeting socket."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, unix_connect

from haven.room import protocol
from tests.harness import totp
from tests.harness.stack import Stack

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
LINK = re.compile(r"(http://localhost:\d+/join/[A-Za-z0-9_-]+/)")
PASSCODE = re.compile(r"^\s+(\d{6})\s*$", re.MULTILINE)


def unique_email(who: str) -> str:
    return f"{who}-{secrets.token_hex(4)}@example.org"


def post_form(client: httpx.Client, url: str, data: dict[str, str]) -> httpx.Response:
    """Fetch the form page for its CSRF token, then post the form as a browser would."""
    page = client.get(url)
    match = CSRF.search(page.text)
    assert match, f"no CSRF token on {url}"
    return client.post(url, data={"csrfmiddlewaretoken": match.group(1), **data})


def sign_in(
    stack: Stack, who: str = "host", *, roles: tuple[str, ...] = ("host",)
) -> tuple[httpx.Client, str]:
    """A new member of staff (a host unless roles say otherwise), signed in with both
    factors. Returns their HTTP client and email."""
    address = unique_email(who)
    password = stack.create_staff(address, roles=roles)
    client = stack.http()
    sign_in_with(client, address, password)
    return client, address


def sign_in_with(client: httpx.Client, address: str, password: str) -> httpx.Response:
    """Both steps of staff sign-in: password, then a fresh authenticator code."""
    response = post_form(client, "/accounts/login/", {"username": address, "password": password})
    assert response.status_code == 302, response.text
    assert response.headers["location"] == "/accounts/two-factor/", response.headers
    response = post_form(client, "/accounts/two-factor/", {"code": totp.fresh_code(address)})
    assert response.status_code == 302, response.text
    return response


def create_meeting(
    client: httpx.Client, title: str = "Annual review", kind: str = "one_to_one"
) -> str:
    page = client.get("/meetings/").text
    type_id = re.search(rf'<option value="(\d+)"[^>]*>{_type_name(kind)}', page)
    assert type_id, "meeting type not offered"
    starts = (dt.datetime.now() + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    response = post_form(
        client,
        "/meetings/",
        {"title": title, "meeting_type": type_id.group(1), "starts_at": starts},
    )
    assert response.status_code == 302, response.text
    return response.headers["location"].strip("/").split("/")[-1]


def _type_name(kind: str) -> str:
    return {
        "one_to_one": "One-to-one meeting",
        "appeal_support": "Appeal or tribunal support",
        "training": "Training session",
        "youth_group": "Youth group",
    }[kind]


@dataclass(frozen=True)
class Invited:
    name: str
    email: str
    link: str
    passcode: str


def invite(
    stack: Stack,
    host: httpx.Client,
    meeting_id: str,
    name: str = "Sam Carter",
    *,
    role: str = "parent_carer",
    email: str | None = None,
) -> Invited:
    """Invite someone and read their link and passcode from the two emails that arrive."""
    address = email or unique_email("attendee")
    response = post_form(
        host,
        f"/meetings/{meeting_id}/",
        {"name": name, "email": address, "role": role},
    )
    assert response.status_code == 302, response.text
    link, passcode = read_access_emails(stack, address)
    return Invited(name, address, link, passcode)


def read_access_emails(stack: Stack, address: str) -> tuple[str, str]:
    """The personal link and the passcode, each from its own email."""
    link_mail = stack.mail_to(address, "Your link")
    code_mail = stack.mail_to(address, "Your passcode")
    link = LINK.search(link_mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    code = PASSCODE.search(code_mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert link and code
    return link.group(1), code.group(1)


def enter_passcode(stack: Stack, invited: Invited, passcode: str | None = None) -> httpx.Client:
    client = stack.http()
    path = invited.link.split(str(stack.port), 1)[1]
    response = post_form(client, path, {"passcode": passcode or invited.passcode})
    assert response.status_code == 302, response.text
    return client


# Every socket a test opened, closed after the test by the close_sockets fixture.
OPEN_SOCKETS: list[Socket] = []


class Socket:
    """A meeting WebSocket, as a hand-written client would use it."""

    def __init__(self, stack: Stack, client: httpx.Client, meeting_id: str) -> None:
        cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        self.connection: ClientConnection = unix_connect(
            str(stack.socket_path),
            uri=f"ws://localhost:{stack.port}/ws/meetings/{meeting_id}/",
            additional_headers={"Cookie": cookie, "Origin": stack.base_url},
            open_timeout=10,
            legacy=True,  # a long-lived connection closed by close(), not a with-block
        )
        self.received: list[dict[str, Any]] = []
        self._next_id = 1000
        OPEN_SOCKETS.append(self)

    def send(self, message: dict[str, Any] | str) -> None:
        self.connection.send(message if isinstance(message, str) else json.dumps(message))

    def receive(self, timeout: float = 10) -> dict[str, Any]:
        raw = self.connection.recv(timeout=timeout)
        message = json.loads(raw)
        protocol.server_message_adapter.validate_python(message)  # what we emit fits the schema
        self.received.append(message)
        return message

    def expect(self, kind: str, timeout: float = 10) -> dict[str, Any]:
        """Receive until a message of this type arrives; fail on an error instead."""
        while True:
            message = self.receive(timeout)
            if message["type"] == kind:
                return message
            assert message["type"] != "error" or kind == "error", message

    def request(self, message: dict[str, Any] | str) -> dict[str, Any]:
        """Send and return the reply to it (matched by request id; other traffic skipped).

        A raw string frame carries no id: the next error is returned. An id this method
        chose is taken off the reply again.
        """
        if isinstance(message, str):
            self.send(message)
            return self.expect("error")
        chosen = "id" not in message
        self._next_id += 1
        request_id = message.setdefault("id", self._next_id)
        self.send(message)
        while True:
            reply = self.receive()
            if reply.get("re") == request_id:
                if chosen:
                    del reply["re"]
                return reply

    def nothing_arrives(self, seconds: float = 1.0) -> list[dict[str, Any]]:
        """Everything that arrives within the time (expected: nothing)."""
        got = []
        try:
            while True:
                got.append(self.receive(timeout=seconds))
        except TimeoutError:
            return got

    def close(self) -> None:
        self.connection.close()


def greet(socket: Socket) -> dict[str, Any]:
    return socket.request({"type": "hello", "protocol": 1})


def join(socket: Socket) -> dict[str, Any]:
    greet(socket)
    return socket.request({"type": "join", "private_place_confirmed": True})
