"""Production settings pass Django's deployment checks; bad configuration fails clearly."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def manage(*args, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "haven.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_settings_pass_check_deploy(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level=WARNING",
        HAVEN_SECRET_KEY=secrets.token_urlsafe(50),
        HAVEN_TRANSCRIPT_KEY=secrets.token_urlsafe(48),
        HAVEN_BASE_URL="https://haven.example.org",
        HAVEN_ALLOWED_HOSTS="haven.example.org",
        HAVEN_DATA_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_missing_secret_key_is_named(tmp_path):
    result = manage("check", HAVEN_DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "HAVEN_SECRET_KEY must be set" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_boolean_is_named(tmp_path):
    result = manage("check", HAVEN_SECRET_KEY="x" * 50, HAVEN_DEBUG="perhaps")
    assert result.returncode != 0
    assert "HAVEN_DEBUG must be true or false, not 'perhaps'" in result.stderr


def test_a_secret_can_come_from_a_file(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(secrets.token_urlsafe(50) + "\n")
    result = manage("check", HAVEN_SECRET_KEY_FILE=str(secret_file), HAVEN_DATA_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr


def load_settings(print_expression: str = "", **env):
    """Import haven.settings alone (faster than manage.py) with only these variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    code = f"import haven.settings as s; print({print_expression or 'None'})"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "HAVEN_SECRET_KEY": "x" * 50, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_bad_log_format_is_named(tmp_path):
    result = load_settings(HAVEN_DATA_DIR=str(tmp_path), HAVEN_LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "HAVEN_LOG_FORMAT must be json or text, not 'xml'" in result.stderr


def test_a_bad_metrics_address_is_named(tmp_path):
    result = load_settings(
        HAVEN_DATA_DIR=str(tmp_path), HAVEN_METRICS_ALLOWED_ADDRESSES="10.0.0.0/8, prom.local"
    )
    assert result.returncode != 0
    assert "HAVEN_METRICS_ALLOWED_ADDRESSES: 'prom.local' is not an address" in result.stderr


def test_websocket_and_form_origins_default_to_the_base_url_origin(tmp_path):
    shown = "s.HAVEN_ALLOWED_ORIGINS, s.CSRF_TRUSTED_ORIGINS"
    result = load_settings(
        shown, HAVEN_DATA_DIR=str(tmp_path), HAVEN_BASE_URL="https://Haven.Example.org/"
    )
    assert result.stdout.strip() == "['https://haven.example.org'] ['https://haven.example.org']"
    result = load_settings(
        shown,
        HAVEN_DATA_DIR=str(tmp_path),
        HAVEN_ALLOWED_ORIGINS="https://haven.example.org,https://haven.example.org:8443",
    )
    both = "['https://haven.example.org', 'https://haven.example.org:8443']"
    assert result.stdout.strip() == f"{both} {both}", result.stderr


def test_a_bad_janus_media_port_range_is_named(tmp_path):
    for bad in ("20000", "40000-20000", "1-70000", "ports"):
        result = load_settings(HAVEN_DATA_DIR=str(tmp_path), HAVEN_JANUS_RTP_PORTS=bad)
        assert result.returncode != 0
        assert f"HAVEN_JANUS_RTP_PORTS must be LOW-HIGH, e.g. 20000-40000, not {bad!r}" in (
            result.stderr
        )
    fine = load_settings(
        "s.HAVEN_JANUS_RTP_PORTS", HAVEN_DATA_DIR=str(tmp_path), HAVEN_JANUS_RTP_PORTS="30000-30100"
    )
    assert fine.returncode == 0 and fine.stdout.strip() == "30000-30100"


def test_single_sign_on_without_its_client_is_named(tmp_path):
    result = manage(
        "check",
        HAVEN_SECRET_KEY="x" * 50,
        HAVEN_DATA_DIR=str(tmp_path),
        HAVEN_OIDC_ISSUER="https://login.microsoftonline.com/tenant/v2.0",
    )
    assert result.returncode != 0
    assert "HAVEN_OIDC_CLIENT_ID, HAVEN_OIDC_CLIENT_SECRET and" in result.stderr
    assert "Traceback" not in result.stderr
