"""A live Haven for tests: real Janus, real SMTP server, real Haven server, in a namespace.

Everything runs inside a network namespace the test run made itself (media cannot use
loopback, and test traffic may go nowhere else). The browser runs inside it too and
reaches Haven at http://localhost:PORT. The test process stays outside and reaches the
same Haven through a Unix socket, which is not bound to any network namespace.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import secrets
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from haven.media.janus_config import JanusSettings, write_janus_config
from haven.media.janus_process import JanusProcess
from tests.harness.netns import Namespace, network_namespace, pick_port, run_in_namespace
from tests.harness.totp import secret_for as totp_secret_for

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
STAFF_PASSWORD = "correct horse battery staple 42"


class StackError(RuntimeError):
    """The live stack could not start; the message says which part and why."""


@dataclass
class Stack:
    """A running Haven, its Janus and an SMTP server, all in one namespace."""

    namespace: Namespace
    folder: Path
    port: int
    janus: JanusSettings
    env: dict[str, str]
    janus_process: JanusProcess | None = None
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def restart_janus(self) -> None:
        """Stop Janus and start it again on the same configuration, as after a crash."""
        assert self.janus_process is not None
        self.janus_process.kill()
        run_in_namespace(self.namespace, self.janus_process.start)

    @property
    def base_url(self) -> str:
        """Where the browser (inside the namespace) finds Haven."""
        return f"http://localhost:{self.port}"

    @property
    def socket_path(self) -> Path:
        return self.folder / "haven.sock"

    @property
    def database(self) -> Path:
        return self.folder / "haven.sqlite3"

    def media_requests(self) -> list[str]:
        """Every request Haven has sent to Janus so far: "kind request opaque-id" lines."""
        path = self.folder / "media-requests.log"
        return path.read_text().splitlines() if path.exists() else []

    @property
    def maildir(self) -> Path:
        return self.folder / "maildir"

    def http(self) -> httpx.Client:
        """An HTTP client for the test process, through the Unix socket."""
        transport = httpx.HTTPTransport(uds=str(self.socket_path))
        return httpx.Client(transport=transport, base_url=self.base_url, timeout=20)

    def manage(self, *args: str, extra_env: dict[str, str] | None = None) -> str:
        """Run a management command against the live database."""
        result = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def create_staff(
        self,
        email_address: str,
        name: str = "Alex Morgan",
        *,
        roles: tuple[str, ...] = ("host",),
        organisation: str = "sendiass-leicester",
        totp: bool = True,
    ) -> str:
        """Make a member of staff and return their password.

        With totp (the default) their authenticator is provisioned with a secret the tests
        know (tests/harness/totp.py); without it, their first sign-in asks them to set one up.
        """
        args = [
            "create_staff",
            f"--organisation={organisation}",
            f"--email={email_address}",
            f"--name={name}",
            "--job-title=IASS Officer",
            *(f"--role={role}" for role in roles),
        ]
        if totp:
            args.append(f"--totp-secret={totp_secret_for(email_address)}")
        self.manage(*args, extra_env={"HAVEN_NEW_STAFF_PASSWORD": STAFF_PASSWORD})
        return STAFF_PASSWORD

    def audit(self, action: str | None = None) -> list[dict[str, Any]]:
        """Audit rows written by the live server, oldest first."""
        connection = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)
        connection.row_factory = sqlite3.Row
        try:
            # actor_label: who the pseudonym is, from the identity table (gone after erasure).
            query = (
                "SELECT e.*, i.label AS actor_label FROM audit_auditevent e"
                " LEFT JOIN audit_auditidentity i ON i.ref = e.actor_ref"
            )
            rows = connection.execute(
                query + (" WHERE e.action = ?" if action else "") + " ORDER BY e.id",
                (action,) if action else (),
            ).fetchall()
        finally:
            connection.close()
        return [dict(row) for row in rows]

    def mail_to(self, address: str, subject_contains: str, timeout: float = 10) -> EmailMessage:
        """Wait for an email to this address whose subject contains the words (the newest)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.all_mail()):
                if address in message["To"] and subject_contains in message["Subject"]:
                    return message
            time.sleep(0.1)
        raise AssertionError(f"no email to {address} about {subject_contains!r} arrived")

    def all_mail(self) -> list[EmailMessage]:
        """Every email the SMTP server received, oldest first."""
        files = [*self.maildir.glob("new/*"), *self.maildir.glob("cur/*")]
        files.sort(key=lambda path: path.stat().st_mtime_ns)
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in files
        ]


def _wait_for_socket(stack: Stack, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackError(f"Haven exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if stack.socket_path.exists():
            with contextlib.suppress(httpx.HTTPError), stack.http() as client:
                if client.get("/").status_code == 200:
                    return
        time.sleep(0.1)
    raise StackError(f"Haven did not answer within 30 s:\n{log.read_text()[-3000:]}")


def _spawn(stack: Stack, name: str, command: list[str]) -> subprocess.Popen[bytes]:
    log = (stack.folder / f"{name}.log").open("ab")
    process = subprocess.Popen(
        [*stack.namespace.exec_prefix, *command],
        cwd=ROOT,
        env=stack.env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    stack.processes.append(process)
    return process


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


def _environment(folder: Path, port: int, smtp_port: int, janus: JanusSettings) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "HAVEN_SECRET_KEY": secrets.token_urlsafe(32),
        "HAVEN_DATA_DIR": str(folder),
        "HAVEN_BASE_URL": f"http://localhost:{port}",
        "HAVEN_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "HAVEN_EMAIL_HOST": "127.0.0.1",
        "HAVEN_EMAIL_PORT": str(smtp_port),
        "HAVEN_JANUS_URL": janus.api_url,
        "HAVEN_JANUS_API_SECRET": janus.api_secret,
        "HAVEN_JANUS_ADMIN_KEY": janus.admin_key,
        "HAVEN_LOG_LEVEL": "WARNING",
        "HAVEN_MEDIA_REQUEST_LOG": str(folder / "media-requests.log"),
    }


@contextlib.contextmanager
def live_stack(folder: Path, *, collected_static: bool = False) -> Iterator[Stack]:
    """Start Janus, an SMTP server and Haven in a fresh namespace; stop them all after.

    ``collected_static``: serve static files as in production (collectstatic, with their
    compressed copies) rather than from the source tree.
    """
    with network_namespace("haven-e2e") as namespace:
        janus_settings = JanusSettings.with_random_secrets(
            ws_port=pick_port(), admin_ws_port=pick_port(), ice_interface=namespace.ice_interface
        )
        port, smtp_port = pick_port(), pick_port()
        env = _environment(folder, port, smtp_port, janus_settings)
        stack = Stack(namespace, folder, port, janus_settings, env)
        janus = JanusProcess(
            write_janus_config(folder / "janus", janus_settings),
            janus_settings,
        )
        stack.janus_process = janus
        try:
            # Started from a thread inside the namespace, Janus lives there, and so does
            # the readiness probe that talks to it.
            run_in_namespace(namespace, janus.start)
            _spawn_smtp(stack, smtp_port)
            stack.manage("migrate", "--no-input", "-v", "0")
            stack.manage("load_policy")
            if collected_static:
                stack.manage("collectstatic", "--no-input", "-v", "0")
                stack.env["HAVEN_STATIC_FROM_SOURCE"] = "false"
            _start_haven(stack)
            yield stack
        finally:
            _stop(stack.processes)
            janus.stop()


def _spawn_smtp(stack: Stack, smtp_port: int) -> None:
    command = [PYTHON, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{smtp_port}"]
    _spawn(stack, "smtp", [*command, "-c", "aiosmtpd.handlers.Mailbox", str(stack.maildir)])


def _start_haven(stack: Stack) -> None:
    command = [PYTHON, "manage.py", "serve", "--no-janus", f"--port={stack.port}"]
    process = _spawn(stack, "haven", [*command, f"--uds={stack.socket_path}"])
    _wait_for_socket(stack, process, stack.folder / "haven.log")
