"""Hosts, meetings and invited attendees, made through Haven's real pages.

Everything goes through the same HTTP flows a person uses (tests/harness/flows.py):
the host signs in with two factors and schedules a meeting; each attendee is invited
with the meeting page's form, their link and passcode are read from the two emails that
arrive, and they enter the passcode on their link. Many attendees are made in parallel
threads, each with its own HTTP client, because every invitation and every passcode
costs an Argon2 hash on the server.
"""

from __future__ import annotations

import concurrent.futures
import email
import email.policy
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.harness import database, flows
from tests.harness.stack import Stack

# Parallel HTTP clients while inviting: the server's two cores are busy hashing by then.
WORKERS = 4


@dataclass(frozen=True)
class Host:
    client: httpx.Client
    email: str


@dataclass(frozen=True)
class Attendee:
    """An invited person who has entered their passcode: their session cookie opens the
    meeting socket and the meeting page."""

    name: str
    email: str
    cookies: dict[str, str]

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())


def new_host(stack: Stack) -> Host:
    """A new member of staff with the host role, signed in with both factors."""
    client, address = flows.sign_in(stack, "bench-host")
    return Host(client, address)


def make_room_for(stack: Stack, attendees: int) -> None:
    """The bench measures meetings bigger than any policy allows (P3: a meeting type takes
    at most 100 attendees, and Haven caps invitations and admissions at its type's
    `max_attendees`): in the bench's own throwaway database only, its training sessions
    take as many as the load needs."""
    database.execute(
        stack,
        "UPDATE policy_meetingtype SET max_attendees = ? WHERE key = 'training'"
        " AND max_attendees < ?",
        attendees,
        attendees,
    )


def new_meeting(host: Host, title: str) -> str:
    """A training session (room for many) scheduled by the host; returns its id."""
    return flows.create_meeting(host.client, title, "training")


class Mailbox:
    """The SMTP server's Maildir, read once per file (the harness's mail_to re-reads all
    of it on every call, which is fine for a test and too slow for hundreds)."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self.seen: set[Path] = set()
        self.access: dict[str, dict[str, str]] = {}
        self.lock = threading.Lock()

    def _read_new(self) -> None:
        for path in [*self.maildir.glob("new/*"), *self.maildir.glob("cur/*")]:
            if path in self.seen:
                continue
            self.seen.add(path)
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            body = message.get_body(("plain",))
            text = body.get_content() if body is not None else ""
            entry = self.access.setdefault(str(message["To"]), {})
            if flows.CONSENT_SUBJECT in str(message["Subject"]):
                found = flows.CONSENT_LINK.search(text)
                if found:
                    entry["consent"] = found.group(1)
            elif "Your link" in str(message["Subject"]):
                found = flows.LINK.search(text)
                if found:
                    entry["link"] = found.group(1)
            elif "Your passcode" in str(message["Subject"]):
                found = flows.PASSCODE.search(text)
                if found:
                    entry["passcode"] = found.group(1)

    def _wait_for(self, address: str, keys: tuple[str, ...], timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                self._read_new()
                entry = next((v for k, v in self.access.items() if address in k), {})
            if all(key in entry for key in keys):
                return entry
            time.sleep(0.05)
        raise RuntimeError(f"the {' and '.join(keys)} for {address} did not arrive")

    def consent_link(self, address: str, timeout: float = 30) -> str:
        """The house rules and consent link come first (rule G1)."""
        return self._wait_for(address, ("consent",), timeout)["consent"]

    def link_and_passcode(self, address: str, timeout: float = 30) -> tuple[str, str]:
        entry = self._wait_for(address, ("link", "passcode"), timeout)
        return entry["link"], entry["passcode"]


def _csrf(client: httpx.Client, url: str) -> str:
    found = flows.CSRF.search(client.get(url).text)
    if not found:
        raise RuntimeError(f"no CSRF token on {url}")
    return found.group(1)


def invite(stack: Stack, host: Host, meeting_id: str, name: str, address: str) -> None:
    # A client per thread, sharing the host's session; the CSRF token stays valid for the
    # session, so the (ever longer) meeting page is fetched once per thread, not per invite.
    client = _thread_client(stack, host)
    token = _thread_token(client, f"/meetings/{meeting_id}/")
    response = client.post(
        f"/meetings/{meeting_id}/",
        data={"csrfmiddlewaretoken": token, "name": name, "email": address, "role": "parent_carer"},
    )
    if response.status_code != 302:
        raise RuntimeError(f"inviting {address} failed with {response.status_code}")


_local = threading.local()


def _thread_client(stack: Stack, host: Host) -> httpx.Client:
    client: httpx.Client | None = getattr(_local, "client", None)
    if client is None or getattr(_local, "owner", None) != id(host):
        client = stack.http()
        client.cookies.update(host.client.cookies)
        _local.client, _local.owner, _local.token = client, id(host), None
    return client


def _thread_token(client: httpx.Client, url: str) -> str:
    token: str | None = getattr(_local, "token", None)
    if token is None:
        token = _csrf(client, url)
        _local.token = token
    return token


def _enter_passcode(stack: Stack, link: str, passcode: str) -> dict[str, str]:
    path = link.split(str(stack.port), 1)[1]
    with stack.http() as client:
        response = client.post(
            path, data={"csrfmiddlewaretoken": _csrf(client, path), "passcode": passcode}
        )
        if response.status_code != 302:
            raise RuntimeError(f"the passcode was refused ({response.status_code})")
        return dict(client.cookies.items())


def consent(stack: Stack, mailbox: Mailbox, address: str) -> None:
    """Agree to the house rules as the invitee would; the link and passcode follow (G1)."""
    consented = flows.give_consent(stack, mailbox.consent_link(address))
    if consented.status_code != 302:
        raise RuntimeError(f"consent for {address} was refused ({consented.status_code})")


def attendee(stack: Stack, host: Host, meeting_id: str, mailbox: Mailbox, name: str) -> Attendee:
    """Invite one person and let them enter their passcode."""
    address = f"bench-{secrets.token_hex(5)}@example.org"
    invite(stack, host, meeting_id, name, address)
    consent(stack, mailbox, address)
    link, passcode = mailbox.link_and_passcode(address)
    return Attendee(name, address, _enter_passcode(stack, link, passcode))


def attendees(
    stack: Stack, host: Host, meeting_id: str, count: int, prefix: str = "Person"
) -> list[Attendee]:
    """Many invited people with passcode sessions, made in parallel."""
    mailbox = Mailbox(stack.maildir)
    names = [f"{prefix} {number:03d}" for number in range(1, count + 1)]
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        made = list(pool.map(lambda name: attendee(stack, host, meeting_id, mailbox, name), names))
    print(f"bench:   {count} invited, passcodes in: {time.monotonic() - started:.0f} s", flush=True)
    return made
