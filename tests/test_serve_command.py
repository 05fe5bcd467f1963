"""`manage.py serve` (what `make run` runs) says clearly when Janus cannot start."""

import os
import subprocess
import sys
from pathlib import Path

from tests.harness.netns import network_namespace, pick_port

ROOT = Path(__file__).resolve().parents[1]


def test_serve_explains_when_janus_cannot_start(tmp_path):
    with network_namespace("haven-serve") as namespace:
        port = pick_port()
        # Something else already holds Janus's port, inside the namespace.
        holder = subprocess.Popen(
            [*namespace.exec_prefix, sys.executable, "-c", _HOLD_PORT.format(port=port)],
            stdout=subprocess.PIPE,
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"listening"
        env = {
            **os.environ,
            "HAVEN_SECRET_KEY": "x" * 50,
            "HAVEN_DATA_DIR": str(tmp_path),
            "HAVEN_JANUS_URL": f"ws://127.0.0.1:{port}",
            "HAVEN_JANUS_API_SECRET": "api-secret",
            "HAVEN_JANUS_ADMIN_SECRET": "admin-secret",
            "HAVEN_JANUS_ADMIN_KEY": "admin-key",
            "HAVEN_JANUS_ADMIN_PORT": str(pick_port()),
        }
        result = subprocess.run(
            [*namespace.exec_prefix, sys.executable, "manage.py", "serve", f"--port={pick_port()}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        holder.kill()
    assert result.returncode != 0
    assert "The Janus media server did not start" in result.stderr
    assert "What to do:" in result.stderr
    assert f"port {port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_explains_missing_secrets(tmp_path):
    env = {**os.environ, "HAVEN_SECRET_KEY": "x" * 50, "HAVEN_DATA_DIR": str(tmp_path)}
    for name in ("HAVEN_JANUS_API_SECRET", "HAVEN_JANUS_ADMIN_SECRET", "HAVEN_JANUS_ADMIN_KEY"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "manage.py", "serve", f"--port={pick_port()}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "HAVEN_JANUS_API_SECRET must be set" in result.stderr


_HOLD_PORT = """
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", {port}))
s.listen()
print("listening", flush=True)
time.sleep(120)
"""
