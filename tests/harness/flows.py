"""What people do, through Haven's public interfaces: pages over HTTP, the meeting socket."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import mailbox
import re
import secrets
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx
from websockets.sync.client import ClientConnection, unix_connect

from haven.room import protocol
from tests.harness import totp
from tests.harness.stack import Stack

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
LINK = re.compile(r"(http://localhost:\d+/join/[A-Za-z0-9_-]+/)")
CONSENT_LINK = re.compile(r"(http://localhost:\d+/consent/[A-Za-z0-9_-]+/)")
PASSCODE = re.compile(r"^\s+(\d{6})\s*$", re.MULTILINE)
RULES_VERSION = re.compile(r'name="rules_version" value="(\d+)"')
# Words in the subject of every email that asks for consent to the house rules (G1).
CONSENT_SUBJECT = "House rules for"


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
    page = client.get("/staff/").text  # the dashboard holds the schedule form
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
    supervising_adult: str = "",
    different_person: bool = False,
) -> Invited:
    """Invite someone, agree to the house rules as they would (following the consent link
    over HTTP; for a child, as their parent or carer), then read their link and passcode
    from the two emails. With `supervising_adult`, the host marks them as needing one and
    the consent names that adult (U5); a child's is their parent or carer."""
    address = email or unique_email("attendee")
    consenter = unique_email("parent") if role == "child" else address
    response = send_invitation(
        host,
        meeting_id,
        name=name,
        email=address,
        role=role,
        parent_name=f"Parent of {name}" if role == "child" else "",
        parent_email=consenter if role == "child" else "",
        needs_supervision=bool(supervising_adult),
        different_person=different_person,
    )
    assert response.status_code == 302, response.text
    adult = supervising_adult or (f"Parent of {name}" if role == "child" else "")
    response = give_consent(stack, read_consent_link(stack, consenter), supervising_adult=adult)
    assert response.status_code == 302, response.text
    link, passcode = read_access_emails(stack, address, consent_first=False)
    return Invited(name, address, link, passcode)


def send_invitation(
    host: httpx.Client,
    meeting_id: str,
    *,
    name: str,
    email: str,
    role: str = "parent_carer",
    parent_name: str = "",
    parent_email: str = "",
    needs_supervision: bool = False,
    different_person: bool = False,
) -> httpx.Response:
    """The host fills in the invitation form (302 when it is sent, 400 with errors).
    `different_person` ticks "a different person with the same name as a member of staff"."""
    data = {"name": name, "email": email, "role": role}
    data |= {"parent_name": parent_name, "parent_email": parent_email}
    if needs_supervision:
        data["needs_supervision"] = "on"
    if different_person:
        data["different_person"] = "on"
    return post_form(host, f"/meetings/{meeting_id}/", data)


def mails_to(stack: Stack, address: str, subject_contains: str) -> list[EmailMessage]:
    """Every email to this address whose subject has the words, oldest first."""
    found = [
        (order, message)
        for order, message in _delivered(stack)
        if address in message["To"] and subject_contains in message["Subject"]
    ]
    return [message for _, message in sorted(found, key=lambda pair: pair[0])]


# Each delivered email, parsed once: a Maildir file never changes after delivery.
_PARSED: dict[tuple[str, str], tuple[tuple[int, int, int], EmailMessage]] = {}


def _delivered(stack: Stack) -> list[tuple[tuple[int, int, int], EmailMessage]]:
    if not stack.maildir.exists():
        return []
    box = mailbox.Maildir(stack.maildir, create=False)
    delivered = []
    for key in box.iterkeys():
        cache_key = (str(stack.maildir), key)
        if cache_key not in _PARSED:
            message = email.message_from_bytes(bytes(box[key]), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            _PARSED[cache_key] = (_delivery_order(key), message)
        delivered.append(_PARSED[cache_key])
    return delivered


def _delivery_order(key: str) -> tuple[int, int, int]:
    # Maildir names are "<seconds>.M<microseconds>P<pid>Q<counter>.<host>".
    match = re.match(r"(\d+)\.M(\d+)P\d+Q(\d+)", key)
    assert match, key
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def newest_mail_to(
    stack: Stack, address: str, subject_contains: str, *, count: int = 1, timeout: float = 10
) -> EmailMessage:
    """Wait until at least `count` such emails have arrived; return the newest."""
    deadline = time.monotonic() + timeout
    while True:
        found = mails_to(stack, address, subject_contains)
        if len(found) >= count:
            return found[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"no email {count} to {address} about {subject_contains!r}")
        time.sleep(0.1)


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def html_of(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()  # type: ignore[union-attr]


def read_consent_link(stack: Stack, address: str, *, count: int = 1) -> str:
    """The consent link in the newest "House rules for ..." email to this address."""
    message = newest_mail_to(stack, address, CONSENT_SUBJECT, count=count)
    link = CONSENT_LINK.search(text_of(message))
    assert link, text_of(message)
    return link.group(1)


def path_of(stack: Stack, link: str) -> str:
    """The path (and query) of a link from an email, to follow on this stack's process
    (links carry the deployment's one address, whichever process follows them)."""
    parts = urlsplit(link)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def give_consent(
    stack: Stack,
    consent_link: str,
    *,
    supervising_adult: str = "",
    client: httpx.Client | None = None,
    **answers: str,
) -> httpx.Response:
    """Open the consent page as the person would, tick "I agree" and send it.

    302 (to the thank-you page) when consent is recorded. `answers` are further form
    fields, for example need_captions="on" or show_on_screen="My letter".
    """
    client = client or stack.http()
    path = path_of(stack, consent_link)
    page = client.get(path)
    assert page.status_code == 200, page.text
    version = RULES_VERSION.search(page.text)
    assert version, "no house rules version on the consent page"
    data = {"rules_version": version.group(1), "agree": "on", **answers}
    if supervising_adult:
        data["supervising_adult"] = supervising_adult
    return post_form(client, path, data)


def read_access_emails(stack: Stack, address: str, consent_first: bool = True) -> tuple[str, str]:
    """The personal link and the passcode, each from its own email (the newest of each).

    They are sent only after consent (G1). With `consent_first`, if no link has come yet,
    this first agrees to the house rules from the newest consent email to the address, as
    the invitee would: so a test that invited through the browser still gets a link.
    """
    if consent_first and not mails_to(stack, address, "Your link"):
        newest_mail_to(stack, address, CONSENT_SUBJECT)
        response = give_consent(stack, read_consent_link(stack, address))
        assert response.status_code == 302, response.text
    link_mail = newest_mail_to(stack, address, "Your link")
    code_mail = newest_mail_to(stack, address, "Your passcode")
    link = LINK.search(text_of(link_mail))
    code = PASSCODE.search(text_of(code_mail))
    assert link and code
    return link.group(1), code.group(1)


def enter_passcode(stack: Stack, invited: Invited, passcode: str | None = None) -> httpx.Client:
    client = stack.http()
    path = path_of(stack, invited.link)
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
