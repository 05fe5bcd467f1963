"""What an assurance document is made from (issue 19, item 2): the policy version and its
retention periods, the configuration that matters for data protection and security, and
the code version. Each document states them; their hash says when a draft is out of date.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import subprocess
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings

from haven.policy.loader import RETENTION_FIELDS
from haven.policy.models import Organisation, PolicyVersion
from haven.records import crypto


@dataclass(frozen=True)
class Inputs:
    """Everything a document depends on that can change between two drafts."""

    policy_version: str
    retention: dict[str, int]
    configuration: dict[str, Any]
    code_version: str

    def as_json(self) -> dict[str, Any]:
        return {
            "policy_version": self.policy_version,
            "retention": self.retention,
            "configuration": self.configuration,
            "code_version": self.code_version,
        }

    @property
    def sha256(self) -> str:
        return digest(self.as_json())

    @property
    def configuration_sha256(self) -> str:
        return digest(self.configuration)


def digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()


def retention_of(policy: PolicyVersion) -> dict[str, int]:
    """Every retention period of the policy, and each meeting type's transcript period."""
    periods = {field: int(getattr(policy, field)) for field in RETENTION_FIELDS.values()}
    for meeting_type in policy.meeting_types.all():
        periods[f"transcript:{meeting_type.key}"] = meeting_type.transcript_retention_days
    return periods


def configuration() -> dict[str, Any]:
    """The settings these documents report, none of them secret (key ids, not keys)."""
    try:
        key_id: str = crypto.current_key()[0]
    except crypto.TranscriptKeyError:
        key_id = ""
    return {
        "base_url": settings.BASE_URL,
        "debug": settings.DEBUG,
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "https_only": getattr(settings, "SECURE_SSL_REDIRECT", False),
        "hsts_seconds": getattr(settings, "SECURE_HSTS_SECONDS", 0),
        "hsts_subdomains": getattr(settings, "SECURE_HSTS_INCLUDE_SUBDOMAINS", False),
        "hsts_preload": getattr(settings, "SECURE_HSTS_PRELOAD", False),
        "secure_cookies": getattr(settings, "SESSION_COOKIE_SECURE", False),
        "content_security_policy": settings.CONTENT_SECURITY_POLICY["DIRECTIVES"],
        "signin_failure_limit": settings.AXES_FAILURE_LIMIT,
        "signin_lockout_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        "staff_idle_minutes": settings.HAVEN_STAFF_IDLE_MINUTES,
        "staff_absolute_hours": settings.HAVEN_STAFF_ABSOLUTE_HOURS,
        "reauth_minutes": settings.HAVEN_REAUTH_MINUTES,
        "janus_servers": list(settings.HAVEN_JANUS_SERVERS),
        "turn_servers": list(settings.HAVEN_TURN_URLS),
        "turn_credential_seconds": settings.HAVEN_TURN_CREDENTIAL_SECONDS,
        "transcript_key_id": key_id,
        "transcript_old_key_count": len(settings.HAVEN_TRANSCRIPT_OLD_KEYS),
        "email_backend": settings.EMAIL_BACKEND,
        "email_tls": settings.EMAIL_USE_TLS,
        "single_sign_on_issuer": settings.HAVEN_OIDC_ISSUER,
        "single_sign_on_organisation": settings.HAVEN_OIDC_ORGANISATION,
        "single_sign_on_recheck_minutes": settings.HAVEN_OIDC_RECHECK_MINUTES,
    }


@cache
def code_version() -> str:
    """`git describe` of the checkout Haven runs from, if it is one; else the package's
    version. Read once per process: the code does not change under a running server."""
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        described = ""
    if described:
        return f"git {described}"
    return f"package {importlib.metadata.version('haven')}"


def inputs_for(organisation: Organisation, extra: dict[str, Any] | None = None) -> Inputs:
    """The inputs of a document for this organisation now. `extra` adds what one kind
    of document depends on besides (the accessibility statement: its test run)."""
    policy = organisation.policy_in_force()
    config = configuration()
    if extra:
        config = {**config, **extra}
    return Inputs(policy.version, retention_of(policy), config, code_version())
