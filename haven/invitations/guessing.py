"""Passcode guessing across links (rule S1): a limit per client address, over all links.

Each link pauses on its own after a few wrong passcodes (haven/invitations/actions.py),
but someone holding many links could spread their guesses over them. So wrong passcodes
are also counted per client address, over every link of every meeting:

- the first HAVEN_PASSCODE_ADDRESS_FREE_TRIES wrong tries in a window of
  HAVEN_PASSCODE_ADDRESS_WINDOW_MINUTES cost nothing;
- each wrong try after those starts a pause before the address's next try is looked at:
  30 s, then 60 s, 120 s, ... up to HAVEN_PASSCODE_ADDRESS_MAX_PAUSE_SECONDS.

A try during a pause is not looked at (the passcode is not checked, the link's own count
does not move) and is not counted. So a family's shared router or a school's network is
slowed for a few minutes at most, never locked out: the window ends an hour after its
first wrong try at the latest, and the count starts again.

A right passcode does not reset the address's count. Everyone behind one address shares
it, and a guesser holding one link of their own could otherwise clear their count between
guesses by typing their own passcode. Nor does it end a pause: the pause is short.

The address is never stored: rows are keyed by a keyed hash (HMAC) of it. An IPv6
address counts by its /64 network, which one household or one attacker is usually given
whole. Behind nginx the client address is the one nginx saw: uvicorn believes
X-Forwarded-For only from FORWARDED_ALLOW_IPS (127.0.0.1 by default), so REMOTE_ADDR is
right and a client cannot choose its own (docs/deployment.md, "Client addresses").
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from haven.invitations.models import PasscodeAddress

FIRST_PAUSE_SECONDS = 30


@dataclass(frozen=True)
class AddressPause:
    """The address must wait this long before its next try is looked at."""

    until: dt.datetime

    def seconds_left(self, now: dt.datetime) -> int:
        return max(1, int((self.until - now).total_seconds() + 0.999))


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, which uvicorn sets from the proxy's
    X-Forwarded-For only when the proxy is trusted. Haven never reads the header itself."""
    return str(request.META.get("REMOTE_ADDR") or "")


def address_key(address: str) -> str:
    """A keyed hash of the address (its /64 for IPv6): what a row is stored under."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        counted = address or "unknown"
    else:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if isinstance(ip, ipaddress.IPv6Address):
            counted = str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
        else:
            counted = str(ip)
    return salted_hmac("haven.invitations.guessing", counted, algorithm="sha256").hexdigest()


def hold(address: str, now: dt.datetime) -> PasscodeAddress:
    """The address's row, locked until the passcode check's transaction ends.

    Taken before a try is looked at, so that tries from one address are checked one at a
    time: many sent at once cannot all be looked at before the first one's pause is saved.
    """
    forget_old_rows(now)
    row, _ = PasscodeAddress.objects.select_for_update(no_key=True).get_or_create(
        address_sha256=address_key(address), defaults={"window_started_at": now}
    )
    if row.window_started_at + _window() <= now:
        row.window_started_at, row.wrong_tries = now, 0
    return row


def current_pause(row: PasscodeAddress, now: dt.datetime) -> AddressPause | None:
    """The pause the address is in now, if any: then its try is not looked at."""
    if row.paused_until is None or row.paused_until <= now:
        return None
    return AddressPause(row.paused_until)


def note_wrong_try(row: PasscodeAddress, now: dt.datetime) -> AddressPause | None:
    """Count one wrong passcode from the address held; return the pause it starts, if any."""
    row.wrong_tries += 1
    beyond = row.wrong_tries - settings.HAVEN_PASSCODE_ADDRESS_FREE_TRIES
    row.paused_until = now + _pause_after(beyond) if beyond > 0 else None
    row.save(update_fields=["window_started_at", "wrong_tries", "paused_until"])
    return AddressPause(row.paused_until) if row.paused_until else None


def _pause_after(tries_beyond_free: int) -> dt.timedelta:
    """30 s after the first try past the free ones, doubling each time, up to the cap."""
    seconds = FIRST_PAUSE_SECONDS * 2 ** min(tries_beyond_free - 1, 20)
    return dt.timedelta(seconds=min(seconds, settings.HAVEN_PASSCODE_ADDRESS_MAX_PAUSE_SECONDS))


def _window() -> dt.timedelta:
    return dt.timedelta(minutes=settings.HAVEN_PASSCODE_ADDRESS_WINDOW_MINUTES)


def forget_old_rows(now: dt.datetime) -> None:
    """A row is kept only while it can still slow someone (rule D3: no longer than needed).
    Run before each try, and by the retention job (for addresses that never come back)."""
    stale = (
        now - _window() - dt.timedelta(seconds=settings.HAVEN_PASSCODE_ADDRESS_MAX_PAUSE_SECONDS)
    )
    PasscodeAddress.objects.filter(window_started_at__lt=stale).delete()


def wait_message(pause: AddressPause, now: dt.datetime | None = None) -> str:
    """What the person is told: plainly, and how long to wait."""
    seconds = pause.seconds_left(now or timezone.now())
    if seconds < 90:
        wait = f"{seconds} seconds"
    else:
        minutes = (seconds + 59) // 60
        wait = f"{minutes} minutes"
    return (
        "Too many wrong passcodes have been typed from your network, so we have paused for "
        f"a moment. Please wait {wait}, then type your passcode again."
    )
