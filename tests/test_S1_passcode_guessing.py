"""Passcode guessing across links (rule S1, issue 20 item 4), over HTTP with Django's client.

Each link pauses on its own after 5 wrong passcodes; these tests are about the limit per
client address over every link (haven/invitations/guessing.py): 10 wrong tries an hour
free, then a pause before the next try is looked at (30 s, 60 s, ... up to 5 minutes).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from django.core import mail
from django.core.signals import request_finished
from django.db import connections
from django.test import Client
from django.utils import timezone
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from haven.audit.models import AuditEvent
from haven.consent.actions import Answers, do_give_consent
from haven.consent.models import ConsentRequest
from haven.invitations import guessing
from haven.invitations.actions import do_check_passcode, do_invite
from haven.invitations.models import Invitation, PasscodeAddress
from haven.records.retention import run_retention
from haven.room.apps import close_request_connections
from tests.harness.unit import scheduled_meeting

pytestmark = pytest.mark.django_db

GUESSER = "203.0.113.7"
NEIGHBOUR = "198.51.100.20"
LINK = re.compile(r"http://localhost:\d+(/join/[A-Za-z0-9_-]+/)")
PASSCODE = re.compile(r"^\s+(\d{6})\s*$", re.MULTILINE)
NOT_RIGHT = "That passcode is not right"
WAIT = re.compile(r"Please wait (\d+) (seconds|minutes), then type your passcode again")


@dataclass
class Link:
    invitation_id: int
    path: str
    passcode: str

    @property
    def wrong(self) -> str:
        return "000000" if self.passcode != "000000" else "111111"

    def failures(self) -> int:
        return Invitation.objects.get(pk=self.invitation_id).passcode_failures


class Clock:
    """Haven's clock, moved by the test (no sleeping through a 30-second pause)."""

    def __init__(self) -> None:
        self.now = timezone.now()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def keep_the_test_database_open() -> Iterator[None]:
    """Haven closes a page request's database connections when it ends (haven/room/apps.py),
    which would close the test's own transaction under Django's in-process client."""
    request_finished.disconnect(dispatch_uid="haven-close-request-db")
    yield
    request_finished.connect(close_request_connections, dispatch_uid="haven-close-request-db")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(timezone, "now", clock)
    return clock


@pytest.fixture
def links(django_capture_on_commit_callbacks) -> list[Link]:
    """Six people invited to one meeting, each with their own link and passcode."""
    meeting = scheduled_meeting()
    made = []
    for n in range(6):
        with django_capture_on_commit_callbacks(execute=True):
            invitation = do_invite(
                meeting.host,
                meeting,
                name=f"Pat {n}",
                email=f"p{n}@example.org",
                role="parent_carer",
            )
            do_give_consent(ConsentRequest.objects.get(invitation=invitation).pk, 1, Answers())
        link_mail, code_mail = mail.outbox[-2:]
        link = LINK.search(str(link_mail.body))
        code = PASSCODE.search(str(code_mail.body))
        assert link and code
        made.append(Link(invitation.pk, link.group(1), code.group(1)))
    return made


def try_passcode(link: Link, typed: str, address: str = GUESSER, forwarded_for: str = ""):
    client = Client(REMOTE_ADDR=address)
    if forwarded_for:
        return client.post(link.path, {"passcode": typed}, HTTP_X_FORWARDED_FOR=forwarded_for)
    return client.post(link.path, {"passcode": typed})


def wait_asked(response) -> tuple[int, str] | None:
    match = WAIT.search(response.content.decode())
    return (int(match.group(1)), match.group(2)) if match else None


def looked_at() -> int:
    """Wrong passcodes Haven actually checked (each is audited as passcode.wrong)."""
    return AuditEvent.objects.filter(action="passcode.wrong").count()


def round_robin(links: list[Link], per_link: int) -> Iterator[Link]:
    for _ in range(per_link):
        yield from links


def test_S1_24_wrong_passcodes_over_6_links_from_one_address_are_slowed(clock, links):
    answers = [try_passcode(link, link.wrong) for link in round_robin(links, 4)]
    # The first 10 are ordinary wrong passcodes; no link has reached its own limit of 5.
    assert all(NOT_RIGHT in r.content.decode() for r in answers[:10])
    assert all(r.status_code == 400 and wait_asked(r) is None for r in answers[:10])
    # The 11th is checked, and pauses the address: every later one waits, unchecked.
    assert all(r.status_code == 429 for r in answers[10:])
    assert {wait_asked(r) for r in answers[10:]} == {(30, "seconds")}
    assert looked_at() == 11
    assert sum(link.failures() for link in links) == 11
    # Even the right passcode waits during the pause: it is not looked at.
    refused = try_passcode(links[5], links[5].passcode)
    assert refused.status_code == 429 and wait_asked(refused) == (30, "seconds")
    assert AuditEvent.objects.filter(action="passcode.refused_address_paused").count() == 14


def test_S1_another_address_is_not_slowed(clock, links):
    for link in round_robin(links, 2):
        try_passcode(link, link.wrong)
    assert wait_asked(try_passcode(links[0], links[0].passcode)) is not None
    wrong = try_passcode(links[1], links[1].wrong, NEIGHBOUR)
    assert wrong.status_code == 400 and NOT_RIGHT in wrong.content.decode()
    right = try_passcode(links[0], links[0].passcode, NEIGHBOUR)
    assert right.status_code == 302 and right["Location"].startswith("/room/")


@pytest.mark.parametrize(
    "typed", ["abcdef", "12345", "1234567", "12a456", "١٢٣٤٥٦", "12.456", "000000000000"]
)
def test_S1_input_that_is_not_6_digits_is_refused_and_never_counted(clock, links, typed):
    for link in round_robin(links, 5):
        page = try_passcode(link, typed)
        assert page.status_code == 400
        assert "Passcodes are 6 digits." in page.content.decode()
    assert looked_at() == 0
    assert [link.failures() for link in links] == [0] * 6
    assert not PasscodeAddress.objects.exists()
    # Spaces and dashes between the digits are fine.
    typed_with_spaces = f"{links[0].passcode[:3]} - {links[0].passcode[3:]}"
    assert try_passcode(links[0], typed_with_spaces).status_code == 302


def test_S1_the_wait_is_said_plainly_grows_and_the_pause_ends(clock, links):
    for link in round_robin(links[:5], 2):
        try_passcode(link, link.wrong)
    first = try_passcode(links[5], links[5].wrong)
    assert wait_asked(first) == (30, "seconds")
    assert "Too many wrong passcodes have been typed from your network" in first.content.decode()
    clock.advance(20)
    assert wait_asked(try_passcode(links[5], links[5].passcode)) == (10, "seconds")
    clock.advance(10)
    # The pause has ended: the next try is looked at again.
    pauses = []
    for link in links[:5]:
        asked = wait_asked(try_passcode(link, link.wrong))
        assert asked is not None
        pauses.append(asked)
        clock.advance(asked[0] * (60 if asked[1] == "minutes" else 1))
    assert pauses == [
        (60, "seconds"),
        (2, "minutes"),
        (4, "minutes"),
        (5, "minutes"),
        (5, "minutes"),
    ]
    right = try_passcode(links[5], links[5].passcode)
    assert right.status_code == 302


def test_S1_the_count_starts_again_after_the_window(clock, links):
    for link in round_robin(links[:5], 2):
        try_passcode(link, link.wrong)
    clock.advance(60 * 60)
    for link in links[:5]:
        assert wait_asked(try_passcode(link, link.wrong)) is None
    assert looked_at() == 15


def test_S1_a_right_passcode_does_not_reset_the_addresses_count(clock, links):
    # A guesser with one link of their own cannot clear their count by using it.
    for link in round_robin(links[1:], 2):
        try_passcode(link, link.wrong)
    assert try_passcode(links[0], links[0].passcode).status_code == 302
    assert wait_asked(try_passcode(links[1], links[1].wrong)) == (30, "seconds")


def test_S1_a_forwarded_for_header_sent_to_haven_is_not_believed(clock, links):
    for link in round_robin(links, 2):
        try_passcode(link, link.wrong, forwarded_for=NEIGHBOUR)
    # All 12 were counted for the address that sent them, not the one they named.
    assert wait_asked(try_passcode(links[0], links[0].passcode)) is not None
    assert try_passcode(links[0], links[0].passcode, NEIGHBOUR).status_code == 302


def test_S1_the_address_is_stored_only_as_a_keyed_hash_and_ipv6_counts_by_its_64(clock, links):
    try_passcode(links[0], links[0].wrong)
    [row] = PasscodeAddress.objects.all()
    assert row.address_sha256 == guessing.address_key(GUESSER) != GUESSER
    assert GUESSER not in str([getattr(row, f.attname) for f in row._meta.fields])
    same_64 = guessing.address_key("2001:db8:1:2::1"), guessing.address_key("2001:db8:1:2:ff::9")
    assert same_64[0] == same_64[1] != guessing.address_key("2001:db8:1:3::1")
    assert guessing.address_key("::ffff:203.0.113.7") == guessing.address_key(GUESSER)


@pytest.mark.django_db(transaction=True)
def test_S1_tries_sent_all_at_once_are_looked_at_one_at_a_time(clock, links):
    """Each try holds its address's row while it is checked: a burst sent together after
    the free tries cannot all be checked before the first one's pause is saved."""
    for link in round_robin(links[:5], 2):
        try_passcode(link, link.wrong)
    burst = 8
    start = threading.Barrier(burst)

    def guess(n: int) -> None:
        link = links[n % 6]
        start.wait()
        try:
            do_check_passcode(link.invitation_id, link.wrong, GUESSER)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(burst)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert looked_at() == 11
    assert AuditEvent.objects.filter(action="passcode.refused_address_paused").count() == 7


def _client_seen_by_haven(peer: tuple[str, int], forwarded_for: str) -> str:
    """The client address Haven gets from uvicorn as `manage.py serve` runs it (uvicorn's
    own proxy settings: serve.py sets neither proxy_headers nor forwarded_allow_ips)."""
    seen: dict[str, tuple[str, int]] = {}

    async def app(scope, receive, send):
        seen["client"] = scope["client"]

    config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False)
    config.load()
    assert isinstance(config.loaded_app, ProxyHeadersMiddleware)
    scope = {
        "type": "http",
        "client": peer,
        "headers": [(b"x-forwarded-for", forwarded_for.encode())],
    }
    asyncio.run(config.loaded_app(scope, None, None))  # type: ignore[arg-type]
    return seen["client"][0]


def test_S1_behind_nginx_the_client_address_is_the_one_nginx_saw(monkeypatch):
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    # nginx (deploy/nginx/haven.conf) connects from 127.0.0.1 and sets X-Forwarded-For to
    # the address it saw; uvicorn believes that header only from FORWARDED_ALLOW_IPS.
    assert _client_seen_by_haven(("127.0.0.1", 50000), GUESSER) == GUESSER
    # Anyone else reaching Haven directly cannot name another address.
    assert _client_seen_by_haven((NEIGHBOUR, 50000), GUESSER) == NEIGHBOUR


def test_S1_the_retention_job_forgets_an_address_that_never_came_back(clock, links):
    try_passcode(links[0], links[0].wrong)
    clock.advance(60 * 60)
    run_retention("test")
    assert PasscodeAddress.objects.exists()  # its last pause could still be running
    clock.advance(5 * 60 + 1)
    run_retention("test")
    assert not PasscodeAddress.objects.exists()
