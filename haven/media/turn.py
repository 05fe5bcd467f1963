"""TURN for attendees behind strict firewalls: coturn's configuration and its credentials.

Haven writes coturn's whole configuration (``manage.py run_turn``), like Janus's, so no
system file is read. Credentials follow the TURN REST convention (``use-auth-secret``):
the username is ``<expiry unix time>:<opaque id>`` and the password is
base64(HMAC-SHA1(secret, username)); coturn checks both without asking Haven. They go
only to people in the meeting (in ``joined`` and ``admitted``), never to the waiting room
(rule S2).

coturn must never become a way into the server's own network (ASVS 17.1.1): relaying to
loopback, private, link-local, shared, documentation, multicast and reserved addresses is
refused. ``allowed_peer_ips`` opens exactly the networks listed; only the tests set it
(their network namespace uses 10.99.0.0/24); a deployment must leave it empty.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

TURN_BINARY = Path("/usr/bin/turnserver")

# Peers coturn must never relay to (IANA special-purpose registries).
DENIED_PEER_NETWORKS = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "::ffff:0:0/96",
    "64:ff9b::/96",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "2002::/16",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
)


class TurnConfigError(ValueError):
    """The TURN settings cannot make a safe configuration."""


@dataclass(frozen=True)
class TurnSettings:
    """What coturn is run with; from HAVEN_TURN_* (haven/settings.py)."""

    secret: str
    realm: str
    port: int = 3478
    tls_port: int = 5349
    listen_ips: Sequence[str] = ()
    relay_ips: Sequence[str] = ()
    external_ip: str = ""
    relay_ports: tuple[int, int] = (49152, 65535)
    tls_cert: str = ""
    tls_key: str = ""
    allowed_peer_ips: Sequence[str] = field(default_factory=tuple)

    def check(self) -> None:
        if len(self.secret) < 32:
            raise TurnConfigError("HAVEN_TURN_SECRET must be at least 32 characters.")
        for value in (self.realm, self.external_ip, self.tls_cert, self.tls_key):
            if any(ch in value for ch in "\n\r\0"):
                raise TurnConfigError("TURN settings must be single lines.")
        for address in (*self.listen_ips, *self.relay_ips):
            ipaddress.ip_address(address)  # raises ValueError
        if self.external_ip:
            ipaddress.ip_address(self.external_ip)
        low, high = self.relay_ports
        if not 1024 <= low <= high <= 65535:
            raise TurnConfigError("HAVEN_TURN_RELAY_PORTS must be a range within 1024-65535.")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise TurnConfigError("Set both HAVEN_TURN_TLS_CERT and HAVEN_TURN_TLS_KEY, or none.")
        for network in self.allowed_peer_ips:
            ipaddress.ip_network(network, strict=False)


def _range(network: str) -> str:
    """coturn takes address ranges (first-last), not prefixes."""
    net = ipaddress.ip_network(network, strict=False)
    first, last = net[0], net[-1]
    return str(first) if first == last else f"{first}-{last}"


def turn_config(settings: TurnSettings, folder: Path) -> str:
    """The text of turnserver.conf for these settings."""
    settings.check()
    lines = [
        "# Written by Haven (manage.py run_turn); changes here are overwritten.",
        f"listening-port={settings.port}",
        *(f"listening-ip={ip}" for ip in settings.listen_ips),
        *(f"relay-ip={ip}" for ip in settings.relay_ips),
        *([f"external-ip={settings.external_ip}"] if settings.external_ip else []),
        f"min-port={settings.relay_ports[0]}",
        f"max-port={settings.relay_ports[1]}",
        "fingerprint",
        # Long-term credentials, derived from the shared secret (TURN REST). coturn warns
        # when lt-cred-mech is given too: use-auth-secret already implies it.
        "use-auth-secret",
        f"static-auth-secret={settings.secret}",
        f"realm={settings.realm}",
        "stale-nonce=600",
        "no-multicast-peers",
        "no-tcp-relay",
        "no-cli",
        "no-software-attribute",
        "no-rfc5780",
        "no-stun-backward-compatibility",
        "no-tlsv1",
        "no-tlsv1_1",
        f"userdb={folder / 'turndb'}",
        f"pidfile={folder / 'turnserver.pid'}",
        "log-file=stdout",
        "simple-log",
    ]
    if settings.tls_cert:
        lines += [
            f"tls-listening-port={settings.tls_port}",
            f"cert={settings.tls_cert}",
            f"pkey={settings.tls_key}",
            "no-dtls",
        ]
    else:
        lines += ["no-tls", "no-dtls"]
    lines += [f"denied-peer-ip={_range(network)}" for network in DENIED_PEER_NETWORKS]
    # Exceptions to the list above: only the tests' own network namespace (see module doc).
    lines += [f"allowed-peer-ip={_range(network)}" for network in settings.allowed_peer_ips]
    return "\n".join(lines) + "\n"


def write_turn_config(folder: Path, settings: TurnSettings) -> Path:
    """Write turnserver.conf (readable by its owner only: it holds the secret)."""
    text = turn_config(settings, folder)  # checks the settings before anything is written
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / "turnserver.conf"
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    return path


def turn_command(config: Path, binary: Path = TURN_BINARY) -> list[str]:
    return [str(binary), "-c", str(config)]


def credentials(secret: str, lifetime_seconds: int, now: float | None = None) -> tuple[str, str]:
    """A TURN REST username and password, valid for lifetime_seconds from now.

    The opaque part is random, so coturn's log names no participant.
    """
    expiry = int(now if now is not None else time.time()) + lifetime_seconds
    username = f"{expiry}:{secrets.token_hex(8)}"
    return username, password_for(secret, username)


def password_for(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()
