"""Read configuration from the environment, failing clearly on bad values.

Every variable Haven reads is documented in docs/deployment.md. Secrets may also be
given as a file path in NAME_FILE (for Docker or systemd credentials).
"""

import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A configuration value is missing or malformed."""


def env_str(name: str, default: str | None = None) -> str:
    """Return NAME, or the contents of the file named by NAME_FILE, or the default."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{name}_FILE points to {file_path!r}, which cannot be read: {exc.strerror}"
            ) from exc
    value = os.environ.get(name)
    if value is not None and value != "":
        return value
    if default is None:
        raise ConfigError(f"{name} must be set (see docs/deployment.md).")
    return default


def env_bool(name: str, default: bool) -> bool:
    """Return NAME as a boolean: true/false, yes/no, on/off or 1/0."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int) -> int:
    """Return NAME as an integer."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    """Return NAME as a comma-separated list."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_ws_urls(name: str, default: list[str]) -> list[str]:
    """Return NAME as a comma-separated list of distinct ws:// or wss:// addresses."""
    urls = env_list(name, default)
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in {"ws", "wss"} or not parts.hostname or len(url) > 200:
            raise ConfigError(f"{name}: {url!r} is not a ws:// or wss:// address.")
        if "@" in parts.netloc:
            raise ConfigError(f"{name}: {url!r} carries a user or password; leave them out.")
    if not urls or len(set(urls)) != len(urls):
        raise ConfigError(f"{name} must name at least one server, each once.")
    return urls


def env_float(name: str, default: float) -> float:
    """Return NAME as a number, which may have a fractional part."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}.") from None


def env_networks(name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Return NAME as a comma-separated list of addresses or networks (10.0.0.0/8)."""
    networks = []
    for item in env_list(name, []):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"{name}: {item!r} is not an address or network.") from None
    return networks


def origin_of(url: str) -> str:
    """The origin (scheme://host[:port]) of a URL, as a browser sends it."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"{url!r} is not an http:// or https:// address.")
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}".lower()
