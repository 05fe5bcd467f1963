"""Deployment checks for transcript keys (rule S6): `manage.py check --deploy` fails
without a transcript key of its own."""

from typing import Any

from django.conf import settings
from django.core import checks

MIN_KEY_LENGTH = 32
GUIDE = 'See docs/deployment.md, "Transcript keys and rotation".'


@checks.register(checks.Tags.security, deploy=True)
def transcript_key_is_set(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    key = settings.HAVEN_TRANSCRIPT_KEY
    if not key:
        return [
            checks.Error(
                "HAVEN_TRANSCRIPT_KEY is not set: no transcript could be kept or read.",
                hint="Set it to a long random value of its own, e.g. python3 -c 'import "
                "secrets; print(secrets.token_urlsafe(48))', and keep it safe. " + GUIDE,
                id="records.E001",
            )
        ]
    problems: list[checks.CheckMessage] = []
    if len(key) < MIN_KEY_LENGTH:
        problems.append(
            checks.Error(
                f"HAVEN_TRANSCRIPT_KEY is shorter than {MIN_KEY_LENGTH} characters.",
                hint="Use a long random value, e.g. secrets.token_urlsafe(48). " + GUIDE,
                id="records.E002",
            )
        )
    if key == settings.SECRET_KEY:
        problems.append(
            checks.Error(
                "HAVEN_TRANSCRIPT_KEY is the same as HAVEN_SECRET_KEY.",
                hint="Give transcripts a key of their own, so that a new secret key (or a "
                "leaked one) does not touch them. " + GUIDE,
                id="records.E003",
            )
        )
    if any(len(old) < MIN_KEY_LENGTH for old in settings.HAVEN_TRANSCRIPT_OLD_KEYS):
        problems.append(
            checks.Warning(
                "HAVEN_TRANSCRIPT_OLD_KEYS has a key shorter than "
                f"{MIN_KEY_LENGTH} characters (perhaps a comma inside a key).",
                hint="List the old keys exactly, separated by commas. " + GUIDE,
                id="records.W001",
            )
        )
    return problems
