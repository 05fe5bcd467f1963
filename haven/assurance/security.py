"""The security summary's facts (issue 19): read from the running configuration, the
media server settings, the transcript keys and the audit log, and Django's deployment
checks (`manage.py check --deploy`) run now, in this process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import checks

from haven.accounts.models import SingleSignOn
from haven.assurance.inputs import configuration
from haven.audit.log import Verification, verify_recent
from haven.media.gateway import RECORDING_OFF
from haven.media.turn import DENIED_PEER_NETWORKS
from haven.records.models import Transcript


@dataclass(frozen=True)
class Fact:
    """One line of the summary: what, what Haven has, and where it comes from."""

    what: str
    value: str
    source: str
    good: bool | None = None  # None: neither good nor bad, just so


@dataclass(frozen=True)
class DeployCheck:
    level: str
    check_id: str
    message: str
    hint: str


LEVELS = {
    checks.DEBUG: "Debug",
    checks.INFO: "Information",
    checks.WARNING: "Warning",
    checks.ERROR: "Error",
    checks.CRITICAL: "Critical",
}


def deploy_checks() -> list[DeployCheck]:
    """What `manage.py check --deploy` reports for this configuration, now."""
    found = checks.run_checks(include_deployment_checks=True)
    silenced = set(settings.SILENCED_SYSTEM_CHECKS)
    return [
        DeployCheck(LEVELS.get(m.level, str(m.level)), m.id or "", str(m.msg), m.hint or "")
        for m in found
        if m.id not in silenced
    ]


def _yes(value: bool) -> str:
    return "Yes" if value else "No"


def transport() -> list[Fact]:
    config = configuration()
    https = config["base_url"].startswith("https://")
    hsts = int(config["hsts_seconds"] or 0)
    csp = config["content_security_policy"]
    return [
        Fact("Address of the service", config["base_url"], "HAVEN_BASE_URL", https),
        Fact(
            "Plain HTTP redirected to HTTPS",
            _yes(bool(config["https_only"])),
            "HAVEN_SSL_REDIRECT (on when the address is https)",
            bool(config["https_only"]),
        ),
        Fact(
            "HTTP Strict Transport Security (HSTS)",
            (
                f"{hsts} seconds ({hsts // 86400} days)"
                + (", subdomains included" if config["hsts_subdomains"] else "")
                + (", preloaded" if config["hsts_preload"] else "")
            )
            if hsts
            else "Not sent",
            "HAVEN_HSTS_SECONDS, HAVEN_HSTS_PRELOAD",
            hsts > 0,
        ),
        Fact(
            "Cookies sent over HTTPS only",
            _yes(bool(config["secure_cookies"])),
            "Set when the address is https",
            bool(config["secure_cookies"]),
        ),
        Fact(
            "Content Security Policy",
            "; ".join(f"{name} {' '.join(values)}" for name, values in csp.items()),
            "Haven's settings: no inline script or style anywhere",
            "'unsafe-inline'" not in str(csp),
        ),
        Fact(
            "Other security headers",
            f"X-Frame-Options {settings.X_FRAME_OPTIONS}; Referrer-Policy "
            f"{settings.SECURE_REFERRER_POLICY}; Cross-Origin-Opener-Policy "
            f"{settings.SECURE_CROSS_ORIGIN_OPENER_POLICY}; X-Content-Type-Options nosniff",
            "Haven's settings",
        ),
        Fact("Debug mode", "On" if config["debug"] else "Off", "HAVEN_DEBUG", not config["debug"]),
    ]


def authentication() -> list[Fact]:
    config = configuration()
    return [
        Fact(
            "Two factors for every member of staff",
            "Password and a code from an authenticator app (or a one-time recovery code); "
            "no staff page opens without both",
            "Haven's sign-in (django-otp)",
            True,
        ),
        Fact(
            "Lockout",
            f"After {config['signin_failure_limit']} wrong passwords or codes, the account "
            f"is locked for {config['signin_lockout_minutes']} minutes",
            "HAVEN_SIGNIN_FAILURE_LIMIT, HAVEN_SIGNIN_LOCKOUT_MINUTES",
        ),
        Fact(
            "Staff sessions end",
            f"After {config['staff_idle_minutes']} minutes idle, and "
            f"{config['staff_absolute_hours']} hours after sign-in at the latest",
            "HAVEN_STAFF_IDLE_MINUTES, HAVEN_STAFF_ABSOLUTE_HOURS",
        ),
        Fact(
            "Confirming it is them again",
            f"Password and code again before a sensitive change, unless given in the last "
            f"{config['reauth_minutes']} minutes",
            "HAVEN_REAUTH_MINUTES",
        ),
        _single_sign_on(config),
        Fact(
            "Attendees",
            "Never have accounts: a personal link emailed by Haven, and its passcode in a "
            f"second email; after {settings.HAVEN_PASSCODE_MAX_FAILURES} wrong passcodes the "
            f"link pauses for {settings.HAVEN_PASSCODE_LOCKOUT_MINUTES} minutes",
            "Rule S1",
        ),
    ]


def _single_sign_on(config: dict[str, Any]) -> Fact:
    issuer = config["single_sign_on_issuer"]
    if not issuer:
        return Fact(
            "Single sign-on (SSO)",
            "Not set up: staff sign in to Haven itself",
            "HAVEN_OIDC_ISSUER (unset)",
        )
    slug = config["single_sign_on_organisation"]
    chosen = SingleSignOn.objects.filter(organisation__slug=slug).first()
    required = chosen is not None and chosen.required
    return Fact(
        "Single sign-on (SSO)",
        f"Staff of {slug} can sign in with the OpenID provider {issuer}; a staff account "
        "is linked to the provider's subject id, never to an email address alone. "
        + ("Haven passwords are refused for them. " if required else "Haven passwords work too. ")
        + "Haven asks for its own code unless the provider says it checked two factors. "
        f"Access is checked with the provider again every "
        f"{config['single_sign_on_recheck_minutes']:g} minutes, and ends when it refuses",
        "HAVEN_OIDC_ISSUER, HAVEN_OIDC_RECHECK_MINUTES, manage.py single_sign_on",
    )


def media() -> list[Fact]:
    config = configuration()
    turn = config["turn_servers"]
    recording = ", ".join(f"{key}: {str(value).lower()}" for key, value in RECORDING_OFF.items())
    return [
        Fact(
            "Media server",
            f"Janus: {len(config['janus_servers'])} server(s) Haven controls "
            f"({', '.join(config['janus_servers'])}). A meeting's sound and video go "
            "through it; Haven sends them nowhere else",
            "HAVEN_JANUS_SERVERS",
        ),
        Fact(
            "Recording",
            f"Impossible: Haven has no recording feature, and every room is created with "
            f"recording off and locked ({recording})",
            "Rule S7 (haven/media/gateway.py)",
            RECORDING_OFF == {"record": False, "lock_record": True},
        ),
        Fact(
            "TURN relay",
            (
                f"{len(turn)} TURN address(es): {', '.join(turn)}. Credentials last "
                f"{config['turn_credential_seconds'] // 3600} hours and go only to people "
                "let into a meeting; the relay refuses to reach loopback, private and other "
                f"special addresses ({len(DENIED_PEER_NETWORKS)} ranges)"
            )
            if turn
            else "None configured: browsers reach the media server directly",
            "HAVEN_TURN_URLS, HAVEN_TURN_CREDENTIAL_SECONDS (haven/media/turn.py)",
        ),
    ]


def data_at_rest() -> list[Fact]:
    config = configuration()
    key_id = config["transcript_key_id"]
    kept = Transcript.objects.filter(destroyed_at__isnull=True)
    on_old = kept.exclude(key__key_id=key_id).count() if key_id else kept.count()
    return [
        Fact(
            "Chat transcripts",
            "Encrypted with AES-256-GCM, each with a key of its own, wrapped by the transcript key",
            "Rule S6 (haven/records/crypto.py)",
        ),
        Fact(
            "Transcript key in use",
            f"Key id {key_id}" if key_id else "None: HAVEN_TRANSCRIPT_KEY is not set",
            "HAVEN_TRANSCRIPT_KEY (the id names the key and reveals nothing of it)",
            bool(key_id),
        ),
        Fact(
            "Earlier keys still accepted",
            str(config["transcript_old_key_count"]),
            "HAVEN_TRANSCRIPT_OLD_KEYS",
        ),
        Fact(
            "Kept transcripts not yet on the current key",
            f"{on_old} of {kept.count()}"
            + ("; `manage.py rotate_transcript_key` moves them" if on_old else ""),
            "Haven's transcript records, now",
            on_old == 0,
        ),
        Fact(
            "Database",
            config["database"],
            "DATABASE_URL",
        ),
    ]


def audit_chain() -> tuple[Verification, Fact]:
    """Verify the audit log's chain now (since the last checkpoint), as the evidence page
    does; the last full check is on the checkpoint."""
    check = verify_recent()
    if check.broken is not None:
        text = f"Broken at entry {check.broken.event_id}: {check.broken.reason}"
    elif check.since_id:
        text = (
            f"Intact: the {check.checked} entries after entry {check.since_id} were checked "
            "now; the ones before were checked earlier"
        )
    else:
        text = f"Intact: every entry ({check.checked}) was checked now"
    return check, Fact(
        "Audit log chain", text, "Rule D5 (haven/audit/log.py)", check.broken is None
    )
