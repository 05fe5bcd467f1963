"""Log formats (HAVEN_LOG_FORMAT): one JSON object a line, or plain text; never personal data.

Haven's own messages name meetings and participants only by their public ids. The
filter below is a second lock for what Haven does not write itself (an SMTP error that
quotes a recipient, a request path carrying a link token): email addresses and long
tokens are replaced before any handler sees the line.
"""

import datetime as dt
import json
import logging
import re
from typing import Any

EMAIL = re.compile(r"[^\s@<>()\[\]\"',;:]+@[^\s@<>()\[\]\"',;:]+\.[A-Za-z]{2,}")
# Link, consent and set-up tokens, and pseudonyms, are 32 or more URL-safe characters.
# A meeting's public id (a UUID) is kept: it names no one and lets logs be followed.
TOKEN = re.compile(r"[A-Za-z0-9_-]{32,}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# Attributes every LogRecord has; anything else was passed in `extra=` and is kept.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    """The text without email addresses or tokens."""
    return TOKEN.sub(_token, EMAIL.sub("[email]", text))


def _token(match: re.Match[str]) -> str:
    return match.group() if UUID.fullmatch(match.group()) else "[token]"


class RedactPersonalData(logging.Filter):
    """Rewrite the record's message (and traceback) without emails or tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # Extra fields: plain values only (Django's `request` object, say, is left out).
        for key, value in record.__dict__.items():
            if key in _STANDARD or key.startswith("_"):
                continue
            if isinstance(value, str):
                entry[key] = redact(value)
            elif isinstance(value, int | float | bool):
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)
