"""Start and stop a Janus process on a configuration written by ``janus_config``.

``JanusProcess.start()`` only returns once Janus answers a real ``info`` request on its
API websocket. The readiness probe connects from the calling thread, so that thread
must be in the same network namespace as Janus.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, NoReturn

from websockets.exceptions import WebSocketException
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from haven.media.janus_config import JANUS_BINARY, JanusSettings, janus_command

NOT_INSTALLED = "Janus is not installed: run `apt-get install janus` (Debian package)"


class JanusStartError(RuntimeError):
    """Janus could not be started, or did not become ready in time."""


class JanusNotInstalledError(JanusStartError):
    """The janus binary was not found."""


def find_janus() -> Path:
    """Path of the janus binary; raises JanusNotInstalledError if there is none."""
    if JANUS_BINARY.is_file() and os.access(JANUS_BINARY, os.X_OK):
        return JANUS_BINARY
    found = shutil.which("janus")
    if found is None:
        raise JanusNotInstalledError(NOT_INSTALLED)
    return Path(found)


def probe_janus(
    url: str, api_secret: str, server_name: str | None = None, timeout: float = 2.0
) -> dict[str, Any]:
    """One ``info`` round-trip on the Janus API websocket; returns the server_info.

    With ``server_name``, an answer from a Janus of another name (e.g. an older one still
    holding the port) counts as no answer.
    """
    transaction = secrets.token_hex(8)
    with connect(
        url,
        subprotocols=[Subprotocol("janus-protocol")],
        open_timeout=timeout,
        close_timeout=1,
        compression=None,
        proxy=None,
    ) as ws:
        request = {"janus": "info", "transaction": transaction, "apisecret": api_secret}
        ws.send(json.dumps(request))
        reply = json.loads(ws.recv(timeout=timeout))
    if not isinstance(reply, dict) or reply.get("janus") != "server_info":
        kind = reply.get("janus") if isinstance(reply, dict) else type(reply).__name__
        raise JanusStartError(f"unexpected answer to info: {kind}")
    if server_name is not None and reply.get("server-name") != server_name:
        raise JanusStartError("another Janus answers on this port")
    return reply


class JanusProcess:
    """A Janus server running in the foreground on a generated configuration folder.

    ``prefix`` is put before the janus command, e.g. ``["ip", "netns", "exec", NAME]``.
    Janus's stdout and stderr are appended to ``log_file`` (default: folder/janus.log).
    """

    def __init__(
        self,
        folder: Path,
        settings: JanusSettings,
        *,
        prefix: Sequence[str] = (),
        log_file: Path | None = None,
    ) -> None:
        self.folder = folder
        self.settings = settings
        self.prefix = list(prefix)
        self.log_file = log_file or folder / "janus.log"
        self.server_info: dict[str, Any] = {}
        self.server_name = "haven"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """Process id of the running Janus, or None."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        """Whether the Janus process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 20.0) -> None:
        """Start Janus and wait until its API answers ``info``; raises JanusStartError."""
        if self.running:
            raise JanusStartError("Janus is already running")
        # A name for this start only: the probe then knows it hears this very process.
        self.server_name = f"haven-{secrets.token_hex(6)}"
        command = [
            *self.prefix,
            *janus_command(self.folder, find_janus()),
            f"--server-name={self.server_name}",
        ]
        self._log = open(self.log_file, "ab")  # noqa: SIM115 - kept open while Janus runs
        self._log.write(f"--- haven: starting {' '.join(command)}\n".encode())
        self._log.flush()
        try:
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                # Own process group: stop() can signal everything Janus started, and a
                # Ctrl-C meant for the parent does not race our orderly stop.
                start_new_session=True,
            )
        except OSError as exc:
            self._close_log()
            raise JanusStartError(f"could not run {command[0]}: {exc}") from exc
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        if self.prefix:
            self._wait_ready_through_prefix(timeout)
            return
        deadline = time.monotonic() + timeout
        last_problem = "no answer yet"
        while time.monotonic() < deadline:
            self._raise_if_exited()
            try:
                self.server_info = probe_janus(
                    self.settings.api_url, self.settings.api_secret, self.server_name
                )
                return
            except (OSError, TimeoutError, WebSocketException, JanusStartError) as exc:
                last_problem = type(exc).__name__
            time.sleep(0.1)
        self._not_ready(timeout, last_problem)

    def _wait_ready_through_prefix(self, timeout: float) -> None:
        # Janus runs behind the prefix (e.g. in another network namespace), where its
        # 127.0.0.1 is not ours: probe from a helper started behind the same prefix.
        helper = subprocess.Popen(
            [
                *self.prefix,
                sys.executable,
                "-m",
                __name__,
                "--probe",
                self.settings.api_url,
                self.server_name,
                str(timeout),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env_with_haven_on_path(),
        )
        assert helper.stdin is not None
        helper.stdin.write(self.settings.api_secret.encode() + b"\n")  # never on argv
        helper.stdin.close()
        try:
            while helper.poll() is None:
                self._raise_if_exited()
                time.sleep(0.05)
        finally:
            if helper.poll() is None:
                helper.kill()
                helper.wait()
        assert helper.stdout is not None and helper.stderr is not None
        # The helper prints one line of JSON or one word, far below a pipe's buffer.
        out, err = helper.stdout.read(), helper.stderr.read()
        helper.stdout.close()
        helper.stderr.close()
        if helper.returncode != 0:
            self._not_ready(timeout, err.decode(errors="replace").strip()[-200:] or "no answer")
        self.server_info = json.loads(out)

    def _raise_if_exited(self) -> None:
        assert self._proc is not None
        code = self._proc.poll()
        if code is not None:
            self._close_log()
            raise JanusStartError(self._failure(f"Janus exited with code {code}"))

    def _not_ready(self, timeout: float, problem: str) -> NoReturn:
        self.stop()
        raise JanusStartError(
            self._failure(f"Janus did not answer within {timeout:.0f} s ({problem})")
        )

    def _failure(self, headline: str) -> str:
        tail = "\n".join(self.log_tail(25))
        return f"{headline}; last lines of {self.log_file}:\n{tail}"

    def log_tail(self, lines: int = 25) -> list[str]:
        """The last ``lines`` lines of the Janus log."""
        try:
            with open(self.log_file, encoding="utf-8", errors="replace") as log:
                return [line.rstrip("\n") for line in deque(log, maxlen=lines)]
        except OSError:
            return []

    def stop(self, grace: float = 5.0) -> None:
        """Stop Janus: SIGTERM, then SIGKILL after ``grace`` seconds. Idempotent."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            self._signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=grace)
        # Anything Janus left in its process group goes too (it normally starts none).
        if proc is not None:
            self._signal_group(proc, signal.SIGKILL)
        self._close_log()

    def freeze(self, timeout: float = 5.0) -> None:
        """Stop Janus (SIGSTOP) as a hung server would; return once it has stopped.

        For tests of a Janus that keeps its sockets open but no longer answers. A stop
        signal only takes effect as each of Janus's threads is next scheduled, so on a
        busy machine Janus can still answer a request sent just after ``os.kill``
        returns. waitid reports the stop only once every thread has stopped. WNOWAIT
        leaves the child's state for ``subprocess`` to collect. Raises JanusStartError
        if Janus is not running or does not stop within ``timeout`` seconds.
        """
        proc = self._proc
        if proc is None or proc.poll() is not None:
            raise JanusStartError("Janus is not running")
        os.kill(proc.pid, signal.SIGSTOP)
        deadline = time.monotonic() + timeout
        flags = os.WSTOPPED | os.WEXITED | os.WNOWAIT | os.WNOHANG
        while (state := os.waitid(os.P_PID, proc.pid, flags)) is None:
            if time.monotonic() >= deadline:
                raise JanusStartError(f"Janus did not stop within {timeout} s")
            time.sleep(0.005)
        if state.si_code != os.CLD_STOPPED:
            raise JanusStartError("Janus exited instead of stopping")

    def thaw(self) -> None:
        """Let a frozen Janus run again (SIGCONT); for tests of a Janus that hung."""
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGCONT)

    def kill(self) -> None:
        """Kill Janus at once (SIGKILL), as a crash would; for tests of recovery."""
        if self._proc is not None and self._proc.poll() is None:
            self._signal_group(self._proc, signal.SIGKILL)
            self._proc.wait(timeout=5)
        self._close_log()

    @staticmethod
    def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass  # already gone
        except PermissionError:
            proc.send_signal(sig)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> JanusProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _env_with_haven_on_path() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}


def _probe_until_ready(url: str, server_name: str, timeout: float) -> int:
    """Helper-process side of the readiness probe: the api secret comes on stdin."""
    api_secret = sys.stdin.readline().strip()
    deadline = time.monotonic() + timeout
    problem = "no answer yet"
    while time.monotonic() < deadline:
        try:
            print(json.dumps(probe_janus(url, api_secret, server_name)))
            return 0
        except (OSError, TimeoutError, WebSocketException, JanusStartError) as exc:
            problem = type(exc).__name__
        time.sleep(0.1)
    print(problem, file=sys.stderr)
    return 1


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--probe":
        sys.exit(_probe_until_ready(sys.argv[2], sys.argv[3], float(sys.argv[4])))
    sys.exit("usage: python -m haven.media.janus_process --probe URL SERVER_NAME TIMEOUT")
