"""Debian's coturn, inside a test's network namespace, on a configuration Haven wrote.

coturn listens on hv1 (10.99.0.2), the browser's side of the veth pair, and relays from
there to Janus on hv0 (10.99.0.1). Both are private addresses, which Haven's coturn
configuration refuses to relay to; the tests alone open exactly the namespace's own
subnet with ``allowed_peer_ips`` (HAVEN_TURN_ALLOWED_PEER_IPS). Relay ports 61000-61999
are above Linux's ephemeral range and Janus's RTP range, so nothing else in the
namespace takes them.
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from haven.media.turn import TurnSettings, turn_command, write_turn_config
from tests.harness.netns import ADDRESSES, Namespace, pick_port

TURN_ADDRESS = ADDRESSES[1][1].split("/")[0]  # hv1
NAMESPACE_SUBNET = "10.99.0.0/24"


@dataclass(frozen=True)
class Turn:
    settings: TurnSettings
    address: str
    log: Path

    @property
    def url(self) -> str:
        return f"turn:{self.address}:{self.settings.port}?transport=udp"

    @property
    def env(self) -> dict[str, str]:
        """What a Haven process needs to give browsers credentials for this coturn."""
        return {
            "HAVEN_TURN_URLS": self.url,
            "HAVEN_TURN_SECRET": self.settings.secret,
            "HAVEN_TURN_REALM": self.settings.realm,
        }


@contextlib.contextmanager
def running_coturn(
    namespace: Namespace, folder: Path, *, allowed_peer_ips: tuple[str, ...] = (NAMESPACE_SUBNET,)
) -> Iterator[Turn]:
    settings = TurnSettings(
        secret=secrets.token_urlsafe(32),
        realm="haven.test",
        port=pick_port(),
        listen_ips=(TURN_ADDRESS,),
        relay_ips=(TURN_ADDRESS,),
        relay_ports=(61000, 61999),
        allowed_peer_ips=allowed_peer_ips,
    )
    folder.mkdir(parents=True, exist_ok=True)
    config = write_turn_config(folder, settings)
    # Tests only: log every request (allocations, permissions), to show what happened.
    with config.open("a") as file:
        file.write("verbose\n")
    log = folder / "coturn.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*namespace.exec_prefix, *turn_command(config)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_listening(namespace, settings.port, process, log)
        yield Turn(settings, TURN_ADDRESS, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_until_listening(
    namespace: Namespace, port: int, process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"coturn exited with {process.returncode}:\n{log.read_text()}")
        listening = subprocess.run(
            [*namespace.exec_prefix, "ss", "-Hlun", f"sport = :{port}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if str(port) in listening.stdout:
            return
        time.sleep(0.1)
    raise RuntimeError(f"coturn did not listen on {port} within 15 s:\n{log.read_text()}")
