"""Personal links and passcodes (rule S1): unguessable, and stored only as hashes."""

import hashlib
import secrets

from django.contrib.auth.hashers import check_password, make_password

PASSCODE_DIGITS = 6


def new_link_token() -> str:
    """256 bits from the operating system's generator, safe in a URL."""
    return secrets.token_urlsafe(32)


def hash_link_token(token: str) -> str:
    # A fast hash is enough for a 256-bit random token; it lets us look the link up.
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def new_passcode() -> str:
    """Six digits: easy to type for everyone; guessing is stopped by the lockout."""
    return "".join(secrets.choice("0123456789") for _ in range(PASSCODE_DIGITS))


def hash_passcode(passcode: str) -> str:
    return make_password(passcode)


def passcode_matches(passcode: str, stored_hash: str) -> bool:
    return check_password(normalise_passcode(passcode), stored_hash)


def normalise_passcode(typed: str) -> str:
    """People type spaces and dashes in codes; they are not part of it."""
    return "".join(ch for ch in typed if ch.isdigit())
