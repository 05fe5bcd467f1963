"""Authenticator-app codes for test staff, computed here (RFC 6238), not by Haven's code.

Each test staff account gets a TOTP secret derived from its email address, so any test
can compute its codes. Haven refuses a code whose time step was already used, so codes
handed out here never repeat a step for the same secret.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import time

STEP_SECONDS = 30
DIGITS = 6
_last_step: dict[str, int] = {}


def secret_for(email: str) -> str:
    """The hex TOTP secret a test account with this email is provisioned with."""
    return hashlib.sha256(f"haven-tests-totp:{email.lower()}".encode()).hexdigest()[:40]


def code_at(secret_hex: str, step: int) -> str:
    """The code for one time step (HMAC-SHA1, dynamic truncation, 6 digits)."""
    digest = hmac.new(bytes.fromhex(secret_hex), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def current_step() -> int:
    return int(time.time()) // STEP_SECONDS


def fresh_code(email: str) -> str:
    """A code Haven accepts now and that this run has not used for this account yet.

    Haven allows one step of clock drift, so the next step's code is accepted too; past
    that, wait for the clock.
    """
    secret = secret_for(email)
    while True:
        now = current_step()
        for step in (now, now + 1):
            if step > _last_step.get(secret, -1):
                _last_step[secret] = step
                return code_at(secret, step)
        time.sleep(STEP_SECONDS - time.time() % STEP_SECONDS + 0.05)


def used_code(email: str) -> str:
    """The last code handed out for this account (to show it is refused a second time)."""
    secret = secret_for(email)
    return code_at(secret, _last_step[secret])
