"""A live Haven for tests: real Janus, real SMTP server, real Haven server, in a namespace.

Everything runs inside a network namespace the test run made itself (media cannot use
loopback, and test traffic may go nowhere else). The browser runs inside it too and
reaches Haven at http://localhost:PORT. The test process stays outside and reaches the
same Haven through a Unix socket, which is not bound to any network namespace.
"""

from __future__ import annotations

import atexit
import contextlib
import email
import email.policy
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from haven.media.janus_config import JanusSettings, write_janus_config
from haven.media.janus_process import JanusProcess
from tests.harness import database as databases
from tests.harness.netns import Namespace, network_namespace, pick_port, run_in_namespace
from tests.harness.totp import secret_for as totp_secret_for
from tests.harness.turn import running_coturn

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
STAFF_PASSWORD = "correct horse battery staple 42"


class StackError(RuntimeError):
    """The live stack could not start; the message says which part and why."""


class ManageServer:
    """One `tests/harness/manage_server.py` process: management commands without a new
    Python for each (see there). Commands from several threads take turns."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [PYTHON, "-m", "tests.harness.manage_server"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lock = threading.Lock()

    def run(self, args: list[str], env: dict[str, str]) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        with self.lock:
            self.process.stdin.write(json.dumps({"args": args, "env": env}) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        if not line:
            raise StackError(f"manage.py {' '.join(args)}: the command process ended")
        answer = json.loads(line)
        if not answer["ok"]:
            raise StackError(f"manage.py {' '.join(args)} failed:\n{answer['error']}")
        return str(answer["stdout"])

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# By the environment dict itself: a stack and its views (dataclasses.replace) share it.
_MANAGE_SERVERS: dict[int, tuple[dict[str, str], ManageServer]] = {}
_MANAGE_SERVERS_LOCK = threading.Lock()


def _manage_server(env: dict[str, str]) -> ManageServer:
    """The command process for a stack's environment (its database), started once."""
    with _MANAGE_SERVERS_LOCK:
        _, server = _MANAGE_SERVERS.get(id(env), (env, None))
        if server is None or server.process.poll() is not None:
            server = ManageServer(env)
            _MANAGE_SERVERS[id(env)] = (env, server)
        return server


def _stop_manage_server(env: dict[str, str]) -> None:
    with _MANAGE_SERVERS_LOCK:
        _, server = _MANAGE_SERVERS.pop(id(env), (env, None))
    if server is not None:
        server.stop()


@atexit.register
def _stop_manage_servers() -> None:
    for env, _ in list(_MANAGE_SERVERS.values()):
        _stop_manage_server(env)


@dataclass
class Stack:
    """A running Haven, its Janus and an SMTP server, all in one namespace."""

    namespace: Namespace
    folder: Path
    port: int
    janus: JanusSettings
    env: dict[str, str]
    db: databases.Database
    janus_process: JanusProcess | None = None
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    # Another Haven process of the same deployment listens here (several_processes).
    uds: Path | None = None
    # With live_stack(janus_servers=2): the Janus servers after the first, same secrets.
    more_janus: list[JanusProcess] = field(default_factory=list)

    def restart_janus(self) -> None:
        """Stop Janus and start it again on the same configuration, as after a crash."""
        assert self.janus_process is not None
        self.janus_process.kill()
        run_in_namespace(self.namespace, self.janus_process.start)

    @property
    def janus_processes(self) -> list[JanusProcess]:
        """Every Janus of the stack, in the order of HAVEN_JANUS_SERVERS."""
        assert self.janus_process is not None
        return [self.janus_process, *self.more_janus]

    @property
    def janus_urls(self) -> list[str]:
        """The address of each Janus, as Haven's settings and database name it."""
        return [janus.settings.api_url for janus in self.janus_processes]

    def kill_janus(self, index: int) -> None:
        """Kill one Janus (SIGKILL), as a crash would; it stays down until start_janus."""
        self.janus_processes[index].kill()

    def start_janus(self, index: int) -> None:
        """Start one Janus again (if it is not running) on its configuration."""
        janus = self.janus_processes[index]
        if not janus.running:
            run_in_namespace(self.namespace, janus.start)

    @property
    def base_url(self) -> str:
        """Where the browser (inside the namespace) finds Haven."""
        return f"http://localhost:{self.port}"

    @property
    def log(self) -> Path:
        """Everything the Haven server wrote to standard output and standard error."""
        return self.folder / "haven.log"

    @property
    def socket_path(self) -> Path:
        return self.uds or self.folder / "haven.sock"

    @property
    def database(self) -> Path:
        """The SQLite file; tests reach either database through tests/harness/database.py."""
        if self.db.path is None:
            raise StackError("This run uses PostgreSQL: use tests/harness/database.py.")
        return self.db.path

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
        _manage_server(self.env).run(args, {"HAVEN_NEW_STAFF_PASSWORD": STAFF_PASSWORD})
        return STAFF_PASSWORD

    def audit(self, action: str | None = None) -> list[dict[str, Any]]:
        """Audit rows written by the live server, oldest first."""
        # actor_label: who the pseudonym is, from the identity table (gone after erasure).
        query = (
            "SELECT e.*, i.label AS actor_label FROM audit_auditevent e"
            " LEFT JOIN audit_auditidentity i ON i.ref = e.actor_ref"
        )
        if action:
            return databases.query(self, query + " WHERE e.action = ? ORDER BY e.id", action)
        return databases.query(self, query + " ORDER BY e.id")

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
    """Wait until the Haven process answers on the stack's Unix socket."""
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


def _environment(
    folder: Path, port: int, smtp_port: int, janus: JanusSettings, db: databases.Database
) -> dict[str, str]:
    return {
        # SQLite: the default file in HAVEN_DATA_DIR, as `make run` has it.
        **(db.env if db.kind == "postgres" else {}),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "HAVEN_SECRET_KEY": secrets.token_urlsafe(32),
        # Transcripts need a key of their own (never derived from the secret key: rule S6).
        "HAVEN_TRANSCRIPT_KEY": secrets.token_urlsafe(32),
        "HAVEN_DATA_DIR": str(folder),
        "HAVEN_BASE_URL": f"http://localhost:{port}",
        "HAVEN_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "HAVEN_EMAIL_HOST": "127.0.0.1",
        "HAVEN_EMAIL_PORT": str(smtp_port),
        "HAVEN_JANUS_URL": janus.api_url,
        "HAVEN_JANUS_API_SECRET": janus.api_secret,
        "HAVEN_JANUS_ADMIN_KEY": janus.admin_key,
        # Every line JSON, audited actions included: tests/test_logging.py reads haven.log.
        "HAVEN_LOG_LEVEL": "INFO",
        "HAVEN_LOG_FORMAT": "json",
        "HAVEN_METRICS_TOKEN": secrets.token_urlsafe(32),
        # Haven's temporary files, if it ever made any, land in its data folder, where the
        # tests that look for traces of what must not be kept can see them (rule S4).
        "TMPDIR": str(folder / "tmp"),
        "HAVEN_MEDIA_REQUEST_LOG": str(folder / "media-requests.log"),
        # The server's retention job (rule D3) runs every few seconds here, so a test can
        # see it act without the command (tests/test_retention.py).
        "HAVEN_RETENTION_INTERVAL_MINUTES": "0.05",
        # A stopped Haven process is noticed within seconds, not the default 20.
        "HAVEN_SERVER_GONE_SECONDS": "6",
    }


@contextlib.contextmanager
def live_stack(
    folder: Path,
    *,
    collected_static: bool = False,
    turn: bool = False,
    janus_servers: int = 1,
    failover_seconds: float | None = None,
    database: databases.Database | None = None,
) -> Iterator[Stack]:
    """Start Janus, an SMTP server and Haven in a fresh namespace; stop them all after.

    The database is new: a SQLite file in the folder, or with HAVEN_TEST_DATABASE=postgres
    a PostgreSQL database made for this stack and dropped after it. ``collected_static``:
    serve static files as in production (collectstatic, with their compressed copies)
    rather than from the source tree. ``turn``: Debian's coturn runs as a host of its own
    on the namespace's link, in a namespace that takes hv1 (tests/harness/turn.py), Haven
    gives browsers credentials for it, and browsers relay all their media through it
    (HAVEN_TURN_FORCE_RELAY). ``janus_servers``: that many Janus processes in the
    namespace, with the same secrets, all in HAVEN_JANUS_SERVERS; ``failover_seconds``:
    HAVEN_JANUS_FAILOVER_SECONDS. ``database``: run on this database (made by the caller,
    e.g. on a private PostgreSQL cluster, tests/harness/postgres.py) instead of a new one.
    """
    with (
        contextlib.nullcontext(database)
        if database
        else databases.fresh_database(folder, "haven") as db,
        network_namespace("haven-e2e") as namespace,
        contextlib.ExitStack() as extras,
    ):
        janus_settings = JanusSettings.with_random_secrets(
            ws_port=pick_port(), admin_ws_port=pick_port(), ice_interface=namespace.ice_interface
        )
        port, smtp_port = pick_port(), pick_port()
        env = _environment(folder, port, smtp_port, janus_settings, db)
        if turn:
            coturn = extras.enter_context(running_coturn(namespace, folder / "turn"))
            env.update(coturn.env, HAVEN_TURN_FORCE_RELAY="true")
        stack = Stack(namespace, folder, port, janus_settings, env, db)
        (folder / "tmp").mkdir(exist_ok=True)
        janus = JanusProcess(
            write_janus_config(folder / "janus", janus_settings),
            janus_settings,
        )
        stack.janus_process = janus
        stack.more_janus = _more_janus(folder, janus_settings, janus_servers)
        if janus_servers > 1:
            env["HAVEN_JANUS_SERVERS"] = ",".join(stack.janus_urls)
        if failover_seconds is not None:
            env["HAVEN_JANUS_FAILOVER_SECONDS"] = str(failover_seconds)
        try:
            # Started from a thread inside the namespace, Janus lives there, and so does
            # the readiness probe that talks to it.
            for each in stack.janus_processes:
                run_in_namespace(namespace, each.start)
            _spawn_smtp(stack, smtp_port)
            stack.manage("migrate", "--no-input", "-v", "0")
            stack.manage("load_policy")
            if collected_static:
                stack.manage("collectstatic", "--no-input", "-v", "0")
                stack.env["HAVEN_STATIC_FROM_SOURCE"] = "false"
            _start_haven(stack)
            yield stack
        finally:
            _stop_manage_server(stack.env)
            _stop(stack.processes)
            for each in stack.janus_processes:
                each.stop()


def _more_janus(folder: Path, first: JanusSettings, count: int) -> list[JanusProcess]:
    """Janus servers beside the first: the same secrets, their own ports and folders."""
    more = []
    for number in range(2, count + 1):
        # Disjoint media ports, so that two servers never compete for one.
        ports = f"{40000 + number * 1000}-{40999 + number * 1000}"
        settings = replace(
            first, ws_port=pick_port(), admin_ws_port=pick_port(), rtp_port_range=ports
        )
        more.append(
            JanusProcess(write_janus_config(folder / f"janus-{number}", settings), settings)
        )
    return more


def _spawn_smtp(stack: Stack, smtp_port: int) -> None:
    command = [PYTHON, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{smtp_port}"]
    _spawn(stack, "smtp", [*command, "-c", "aiosmtpd.handlers.Mailbox", str(stack.maildir)])


def _start_haven(stack: Stack) -> None:
    command = [PYTHON, "manage.py", "serve", "--no-janus", f"--port={stack.port}"]
    process = _spawn(stack, "haven", [*command, f"--uds={stack.socket_path}"])
    _wait_for_socket(stack, process, stack.folder / "haven.log")


@dataclass
class HavenServer:
    """One more Haven process of the same deployment: same database, Janus and SMTP
    server; the channel layer in Redis. `view` is the stack as seen through this process
    (its own port for the browser and its own Unix socket for the test process)."""

    view: Stack
    process: subprocess.Popen[bytes]
    # The port the deployment's load balancer (Balancer) listens on, in the namespace.
    public_port: int = 0

    def kill(self) -> None:
        """End the process at once (SIGKILL), as a crash would: nothing is cleaned up."""
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the process as systemd would for a restart or an upgrade (SIGTERM)."""
        self.process.terminate()
        self.process.wait(timeout=20)


@contextlib.contextmanager
def several_processes(stack: Stack, count: int = 2) -> Iterator[list[HavenServer]]:
    """A Redis server and `count` Haven processes using it, beside the stack's own Haven
    (which keeps its in-memory layer). None of them starts Janus: they share the stack's."""
    redis_folder = stack.folder / f"redis-{secrets.token_hex(4)}"
    redis_folder.mkdir()
    redis_socket = redis_folder / "redis.sock"
    started: list[subprocess.Popen[bytes]] = []
    try:
        redis = _spawn(stack, "redis", _redis_command(redis_folder, redis_socket))
        started.append(redis)
        _wait_for_redis(redis, redis_socket, stack.folder / "redis.log")
        servers = []
        # Every process of one deployment accepts pages from every address the tests reach
        # it by: each process's own port, and the load balancer's (HAVEN_ALLOWED_ORIGINS,
        # the WebSocket Origin check).
        ports = [pick_port() for _ in range(count)]
        public_port = pick_port()
        origins = ",".join(f"http://localhost:{p}" for p in [stack.port, public_port, *ports])
        for index, port in enumerate(ports):
            env = {
                **stack.env,
                "REDIS_URL": f"unix://{redis_socket}",
                "HAVEN_ALLOWED_ORIGINS": origins,
            }
            view = replace(
                stack, port=port, env=env, processes=[], uds=redis_folder / f"haven-{index}.sock"
            )
            name = f"haven-{redis_folder.name}-{index}"
            command = [PYTHON, "manage.py", "serve", "--no-janus", f"--port={port}"]
            process = _spawn(view, name, [*command, f"--uds={view.socket_path}"])
            started.append(process)
            servers.append(HavenServer(view, process, public_port))
        for index, server in enumerate(servers):
            log = stack.folder / f"haven-{redis_folder.name}-{index}.log"
            _wait_for_socket(server.view, server.process, log)
        yield servers
    finally:
        _stop(started)


def _redis_command(folder: Path, socket_path: Path) -> list[str]:
    """redis-server on a Unix socket only, keeping nothing on disk."""
    return [
        "/usr/bin/redis-server",
        "--port",
        "0",
        "--unixsocket",
        str(socket_path),
        "--unixsocketperm",
        "700",
        "--dir",
        str(folder),
        "--save",
        "",
        "--appendonly",
        "no",
    ]


def _wait_for_redis(process: subprocess.Popen[bytes], socket_path: Path, log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackError(f"redis-server exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as probe:
            probe.connect(str(socket_path))
            probe.sendall(b"PING\r\n")
            if probe.recv(16).startswith(b"+PONG"):
                return
        time.sleep(0.05)
    raise StackError(f"redis-server did not answer within 10 s:\n{log.read_text()}")


class Balancer:
    """A load balancer for the browser: a TCP port in the namespace whose new connections
    go to one Haven process's Unix socket, the one `send_to` names. Pages opened through it
    have one origin whichever process serves them, as behind a real load balancer."""

    def __init__(self, stack: Stack, to: HavenServer) -> None:
        self.port = to.public_port or pick_port()
        self.target = to.view.socket_path
        self.view = replace(stack, port=self.port, processes=[], uds=self.target)
        self._listener = run_in_namespace(
            stack.namespace, lambda: socket.create_server(("127.0.0.1", self.port))
        )
        threading.Thread(target=self._accept, daemon=True).start()

    def send_to(self, server: HavenServer) -> None:
        """New connections go to this process from now on."""
        self.target = server.view.socket_path

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                backend = socket.socket(socket.AF_UNIX)
                backend.connect(str(self.target))
            except OSError:
                client.close()  # that process is gone: the browser tries again
                continue
            for source, sink in ((client, backend), (backend, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    for each in (source, sink):
        with contextlib.suppress(OSError):
            each.shutdown(socket.SHUT_RDWR)
