"""TURN (issue 7): Haven's coturn configuration and the credentials it gives browsers.

coturn is Debian's, run inside the test's own network namespace on the configuration
Haven writes; a TURN client from the same package (turnutils_uclient) asks it to relay.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from haven.media.turn import (
    DENIED_PEER_NETWORKS,
    TurnConfigError,
    TurnSettings,
    credentials,
    password_for,
    turn_config,
    write_turn_config,
)
from tests.harness.netns import Namespace, network_namespace
from tests.harness.turn import JANUS_ADDRESS, Turn, running_coturn

SECRET = "s" * 40


def test_turn_config_refuses_private_and_loopback_peers(tmp_path: Path) -> None:
    text = turn_config(TurnSettings(secret=SECRET, realm="example.org"), tmp_path)
    lines = text.splitlines()
    for line in (
        "use-auth-secret",
        f"static-auth-secret={SECRET}",
        "realm=example.org",
        "no-multicast-peers",
        "no-cli",
        "fingerprint",
        "no-tlsv1",
        "no-tlsv1_1",
        "no-tcp-relay",
        "denied-peer-ip=0.0.0.0-0.255.255.255",
        "denied-peer-ip=10.0.0.0-10.255.255.255",
        "denied-peer-ip=100.64.0.0-100.127.255.255",
        "denied-peer-ip=127.0.0.0-127.255.255.255",
        "denied-peer-ip=169.254.0.0-169.254.255.255",
        "denied-peer-ip=172.16.0.0-172.31.255.255",
        "denied-peer-ip=192.168.0.0-192.168.255.255",
        "denied-peer-ip=::1",
        "denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "denied-peer-ip=fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ):
        assert line in lines
    assert len([line for line in lines if line.startswith("denied-peer-ip=")]) == len(
        DENIED_PEER_NETWORKS
    )
    # No exceptions, no loopback peers, no admin interfaces unless the tests ask.
    assert not [line for line in lines if line.startswith("allowed-peer-ip")]
    assert "allow-loopback-peers" not in lines
    assert not [line for line in lines if line.startswith(("cli-", "web-admin"))]


def test_turn_config_file_is_private_and_settings_are_checked(tmp_path: Path) -> None:
    path = write_turn_config(tmp_path / "turn", TurnSettings(secret=SECRET, realm="r"))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(TurnConfigError):
        turn_config(TurnSettings(secret="short", realm="r"), tmp_path)
    with pytest.raises(TurnConfigError):
        turn_config(TurnSettings(secret=SECRET, realm="r\nallow-loopback-peers"), tmp_path)
    with pytest.raises(ValueError):
        turn_config(TurnSettings(secret=SECRET, realm="r", relay_ips=("not an ip",)), tmp_path)


def test_turn_credentials_follow_the_turn_rest_convention() -> None:
    username, password = credentials(SECRET, 600, now=1_800_000_000)
    expiry, _, opaque = username.partition(":")
    assert expiry == "1800000600"
    assert len(opaque) == 16
    # base64(HMAC-SHA1(secret, username)); the value is from
    # `printf 1800000600:abc | openssl dgst -sha1 -hmac secret -binary | base64`.
    assert password_for("secret", "1800000600:abc") == "3mNFV9F+AKrwAmSbD31jcHqcp7I="
    assert password == password_for(SECRET, username)
    assert credentials(SECRET, 600)[0] != credentials(SECRET, 600)[0]


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Namespace, Turn]]:
    with network_namespace("haven-turn") as namespace:
        folder = tmp_path_factory.mktemp("coturn")
        with running_coturn(namespace, folder) as turn:
            yield namespace, turn


def relay_to(
    coturn: tuple[Namespace, Turn], peer: str, username: str, password: str
) -> subprocess.CompletedProcess[str]:
    """Ask coturn for a relay to peer:9 (one UDP message) with these credentials."""
    namespace, turn = coturn
    command = ["turnutils_uclient", "-u", username, "-w", password]
    command += ["-p", str(turn.settings.port), "-e", peer, "-r", "9", "-n", "1", "-c", "-X"]
    return subprocess.run(
        [*namespace.exec_prefix, *command, turn.address],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_turn_coturn_relays_with_a_valid_credential(coturn: tuple[Namespace, Turn]) -> None:
    username, password = credentials(coturn[1].settings.secret, 600)
    # Janus's address in the namespace: private, allowed for the tests alone.
    result = relay_to(coturn, JANUS_ADDRESS, username, password)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tot_send_msgs=1" in result.stdout


# 10.99.0.3: beside Janus on its own link, yet refused: the tests' exception is one address.
@pytest.mark.parametrize(
    "peer", ["127.0.0.1", "10.99.0.3", "10.99.1.5", "192.168.1.1", "169.254.1.1"]
)
def test_turn_coturn_refuses_loopback_and_private_peers(
    coturn: tuple[Namespace, Turn], peer: str
) -> None:
    username, password = credentials(coturn[1].settings.secret, 600)
    result = relay_to(coturn, peer, username, password)
    assert result.returncode != 0
    assert "403 (Forbidden IP)" in result.stdout + result.stderr


def test_turn_coturn_refuses_expired_and_forged_credentials(
    coturn: tuple[Namespace, Turn],
) -> None:
    secret = coturn[1].settings.secret
    expired, expired_password = credentials(secret, -60)
    username, _ = credentials(secret, 600)
    for name, password in (
        (expired, expired_password),
        (username, password_for("another secret of forty characters....", username)),
    ):
        result = relay_to(coturn, JANUS_ADDRESS, name, password)
        assert result.returncode != 0
        output = result.stdout + result.stderr
        assert "Cannot complete Allocation" in output, output
        assert "tot_send_msgs=1" not in output
        # coturn refused the credential itself (an unanswered request says nothing here).
        refusals = [
            line
            for line in coturn[1].log.read_text().splitlines()
            if "check_stun_auth" in line and f"<{name}>" in line
        ]
        assert refusals, coturn[1].log.read_text()[-2000:]
