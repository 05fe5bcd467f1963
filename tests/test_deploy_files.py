"""deploy/: the systemd units are valid (systemd-analyze verify) and fit Haven and nginx."""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[1]
SYSTEMD = ROOT / "deploy" / "systemd"
UNITS = sorted(path for path in SYSTEMD.iterdir() if path.suffix in {".service", ".timer"})


def test_the_systemd_units_verify(tmp_path):
    """Checked as installed, with /opt/haven and its venv being this checkout."""
    true = shutil.which("true")
    assert true is not None
    for unit in UNITS:
        text = unit.read_text()
        text = text.replace("/opt/haven/.venv/bin/python", sys.executable)
        text = text.replace("/opt/haven", str(ROOT))
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(tmp_path / unit.name) for unit in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout == "", result.stderr + result.stdout


def test_the_units_run_commands_haven_has():
    commands = set(get_commands())
    run: dict[str, list[str]] = {}
    for unit in UNITS:
        for line in re.findall(r"^ExecStart(?:Pre)?=(.+)$", unit.read_text(), re.MULTILINE):
            words = shlex.split(line)
            if "manage.py" in words:
                run.setdefault(unit.name, []).append(words[words.index("manage.py") + 1])
    assert run == {
        "haven.service": ["check", "serve"],
        "haven-janus.service": ["run_janus"],
        "haven-coturn.service": ["run_turn"],
        "haven-retention.service": ["destroy_expired"],
    }
    assert {command for names in run.values() for command in names} <= commands


def test_haven_listens_where_nginx_sends_requests():
    service = (SYSTEMD / "haven.service").read_text()
    nginx = (ROOT / "deploy" / "nginx" / "haven.conf").read_text()
    port = re.search(r"--host 127\.0\.0\.1 --port (\d+)", service)
    assert port and f"server 127.0.0.1:{port.group(1)};" in nginx
    env = (SYSTEMD / "haven.env.example").read_text()
    assert "HAVEN_DATA_DIR=/var/lib/haven\n" in env and "StateDirectory=haven" in service
    assert "alias /var/lib/haven/static/;" in nginx  # STATIC_ROOT = HAVEN_DATA_DIR/static


def test_run_janus_writes_the_configuration_haven_starts_janus_with(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")},
        "DJANGO_SETTINGS_MODULE": "haven.settings",
        "HAVEN_SECRET_KEY": "x" * 50,
        "HAVEN_DATA_DIR": str(tmp_path),
        "HAVEN_JANUS_URL": "ws://127.0.0.1:8188",
        "HAVEN_JANUS_API_SECRET": "api-secret-for-the-test",
        "HAVEN_JANUS_ADMIN_SECRET": "admin-secret-for-the-test",
        "HAVEN_JANUS_ADMIN_KEY": "admin-key-for-the-test",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "run_janus", "--write-only"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "run" / "janus"
    assert result.stdout.split()[1:5] == ["-C", str(folder / "janus.jcfg"), "-F", str(folder)]
    for name in ("janus.jcfg", "janus.transport.websockets.jcfg", "janus.plugin.videoroom.jcfg"):
        assert (folder / name).stat().st_mode & 0o777 == 0o600
    assert "api-secret-for-the-test" in (folder / "janus.jcfg").read_text()


def test_run_turn_writes_the_configuration_haven_starts_coturn_with(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")},
        "DJANGO_SETTINGS_MODULE": "haven.settings",
        "HAVEN_SECRET_KEY": "x" * 50,
        "HAVEN_DATA_DIR": str(tmp_path),
        "HAVEN_TURN_URLS": "turn:turn.example.org:3478",
        "HAVEN_TURN_SECRET": "turn-secret-for-the-test-" + "y" * 20,
        "HAVEN_TURN_REALM": "turn.example.org",
        "HAVEN_TURN_RELAY_PORTS": "50000-50999",
    }
    command = [sys.executable, "manage.py", "run_turn", "--write-only"]
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    config = tmp_path / "run" / "turn" / "turnserver.conf"
    assert result.stdout.split() == ["/usr/bin/turnserver", "-c", str(config)]
    assert config.stat().st_mode & 0o777 == 0o600
    lines = config.read_text().splitlines()
    assert "static-auth-secret=turn-secret-for-the-test-" + "y" * 20 in lines
    assert "realm=turn.example.org" in lines and "min-port=50000" in lines
    assert "denied-peer-ip=127.0.0.0-127.255.255.255" in lines
    assert not [line for line in lines if line.startswith("allowed-peer-ip")]
    # A short secret is refused, and nothing is written.
    config.unlink()
    env["HAVEN_TURN_SECRET"] = "short"
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0 and "HAVEN_TURN_SECRET" in result.stderr
    assert not config.exists()


def test_every_environment_variable_is_in_the_settings_table():
    """docs/deployment.md's table names every variable Haven reads, and only those."""
    code = "\n".join(path.read_text() for path in (ROOT / "haven").rglob("*.py"))
    read = set(re.findall(r"env_[a-z]+\(\s*\"([A-Z0-9_]+)\"", code))
    read |= set(re.findall(r"\"(HAVEN_[A-Z0-9_]+)\"", code))
    docs = (ROOT / "docs" / "deployment.md").read_text().split("\n## Settings\n", 1)[1]
    rows = [line.split(" | ")[0] for line in docs.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([A-Z0-9_]+)`", row)}
    assert read - documented == set(), "not in docs/deployment.md's Settings table"
    haven_documented = {name for name in documented if name.startswith("HAVEN_")}
    assert haven_documented - read == set(), "documented but read nowhere"
