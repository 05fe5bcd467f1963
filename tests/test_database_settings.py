"""DATABASE_URL chooses the database; without it, SQLite in HAVEN_DATA_DIR as before."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHOW = (
    "import json; from django.db import connection as c; s = c.settings_dict; "
    "print(json.dumps([c.vendor, str(s['NAME']), s['HOST'], s['USER'], s['OPTIONS']]))"
)
AGE = "from django.db import connection as c; print(repr(c.settings_dict['CONN_MAX_AGE']))"
POSTGRES = "postgres://haven@%2Fvar%2Frun%2Fpostgresql/haven_live"


def manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    clean.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "haven.settings",
            "HAVEN_SECRET_KEY": "tests-only",
            "HAVEN_DATA_DIR": str(tmp_path),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def database_settings(tmp_path: Path, **env: str) -> list[Any]:
    result = manage(tmp_path, "shell", "-c", SHOW, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_DATABASE_URL_haven_uses_sqlite_in_its_data_folder(tmp_path):
    vendor, name, _, _, options = database_settings(tmp_path)
    assert (vendor, name) == ("sqlite", str(tmp_path / "haven.sqlite3"))
    assert options["transaction_mode"] == "IMMEDIATE"


def test_sqlite_connections_are_kept_open_between_database_calls(tmp_path):
    for env in ({}, {"DATABASE_URL": f"sqlite:///{tmp_path}/elsewhere.sqlite3"}):
        result = manage(tmp_path, "shell", "-c", AGE, **env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == "None"


def test_a_postgres_DATABASE_URL_over_the_local_socket(tmp_path):
    vendor, name, host, user, _ = database_settings(tmp_path, DATABASE_URL=POSTGRES)
    assert (vendor, name, host, user) == (
        "postgresql",
        "haven_live",
        "/var/run/postgresql",
        "haven",
    )


def test_a_sqlite_DATABASE_URL_keeps_the_sqlite_options(tmp_path):
    url = f"sqlite:///{tmp_path}/elsewhere.sqlite3"
    vendor, name, _, _, options = database_settings(tmp_path, DATABASE_URL=url)
    assert (vendor, name) == ("sqlite", f"{tmp_path}/elsewhere.sqlite3")
    assert options["transaction_mode"] == "IMMEDIATE"


def test_a_DATABASE_URL_haven_cannot_read_stops_it_at_start(tmp_path):
    result = manage(tmp_path, "check", DATABASE_URL="nosuchdb://somewhere/haven")
    assert result.returncode != 0
    assert "DATABASE_URL cannot be used: Scheme 'nosuchdb://' is unknown" in result.stderr


def test_a_database_haven_is_not_tested_on_is_refused(tmp_path):
    result = manage(tmp_path, "check", DATABASE_URL="mysql://haven@localhost/haven")
    assert result.returncode != 0
    assert "DATABASE_URL must start postgres://" in result.stderr
