"""What a chat message may hold, and how links in it are noticed (rule S4)."""

import re

MAX_LENGTH = 1000
# Anything a browser or a reader might take for a link: shown as plain text with a warning.
LINK = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://|www\.|mailto:|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:[a-z]{2,24})(?:/|\b))",
    re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: str) -> str:
    """Drop control characters and surrounding space; keep newlines."""
    return _CONTROL.sub("", text).strip()


def has_link(text: str) -> bool:
    return LINK.search(text) is not None
