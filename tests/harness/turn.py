"""Debian's coturn, as a host of its own beside the test namespace, on Haven's configuration.

The test namespace's veth pair is split between two namespaces, as two machines on one
link: Janus, Haven and the browser keep hv0 (10.99.0.1); coturn gets hv1 (10.99.0.2) in a
namespace of its own. Janus sends its media out of hv0 only (``ice_enforce_list``), so the
relay address has to be at the other end of that link. With coturn on hv1 in the same
namespace, ICE never completed: the kernel asked for 10.99.0.2 by ARP out of hv0, hv1
dropped that request as a "martian" (its sender, 10.99.0.1, is a local address there), and
Janus's answers to the browser's checks never left.

Both addresses are private, which Haven's coturn configuration refuses to relay to
(ASVS 17.1.1). The tests open exactly one address, Janus's, with ``allowed_peer_ips``
(HAVEN_TURN_ALLOWED_PEER_IPS); a deployment sets nothing there, and its relayed media
goes to Janus's public address. Relay ports 61000-61999 are above Linux's ephemeral range
and Janus's RTP range.
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
from tests.harness.netns import ADDRESSES, Namespace, pick_port, split_off

JANUS_ADDRESS = ADDRESSES[0][1].split("/")[0]  # hv0, the test namespace's side
TURN_DEVICE, TURN_NETWORK = ADDRESSES[1]  # hv1, moved into coturn's own namespace
TURN_ADDRESS = TURN_NETWORK.split("/")[0]


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
    namespace: Namespace,
    folder: Path,
    *,
    allowed_peer_ips: tuple[str, ...] = (f"{JANUS_ADDRESS}/32",),
) -> Iterator[Turn]:
    """coturn in its own namespace, reached from ``namespace`` over the hv0-hv1 link."""
    with (
        split_off(namespace, "haven-coturn", TURN_DEVICE, TURN_NETWORK) as own,
        _coturn(own, TURN_ADDRESS, folder, allowed_peer_ips) as turn,
    ):
        yield turn


@contextlib.contextmanager
def _coturn(
    namespace: Namespace, address: str, folder: Path, allowed_peer_ips: tuple[str, ...]
) -> Iterator[Turn]:
    settings = TurnSettings(
        secret=secrets.token_urlsafe(32),
        realm="haven.test",
        port=pick_port(),
        listen_ips=(address,),
        relay_ips=(address,),
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
        yield Turn(settings, address, log)
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
