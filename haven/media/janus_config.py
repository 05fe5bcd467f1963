"""Generate the configuration Haven runs Janus with.

Janus is started with ``-C folder/janus.jcfg -F folder`` on files written here, so the
system configuration in /etc/janus is never read or changed. Only the VideoRoom plugin
and the WebSockets transport are loaded; the API listens on loopback only, both APIs
need a secret, and rooms can only be created with the VideoRoom ``admin_key``.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import sysconfig
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

JANUS_BINARY = Path("/usr/bin/janus")

ENABLED_PLUGIN = "libjanus_videoroom.so"
ENABLED_TRANSPORT = "libjanus_websockets.so"

# What Debian's janus 1.1.2 ships. The folder listing is used as well, so a module that
# appears in a later package is disabled too; these cover a missing or unreadable folder.
KNOWN_MODULES: Mapping[str, tuple[str, ...]] = {
    "plugins": (
        "libjanus_audiobridge.so",
        "libjanus_duktape.so",
        "libjanus_echotest.so",
        "libjanus_lua.so",
        "libjanus_nosip.so",
        "libjanus_recordplay.so",
        "libjanus_sip.so",
        "libjanus_streaming.so",
        "libjanus_textroom.so",
        "libjanus_videocall.so",
        "libjanus_videoroom.so",
        "libjanus_voicemail.so",
    ),
    "transports": (
        "libjanus_http.so",
        "libjanus_mqtt.so",
        "libjanus_nanomsg.so",
        "libjanus_pfunix.so",
        "libjanus_rabbitmq.so",
        "libjanus_websockets.so",
    ),
    "events": (
        "libjanus_gelfevh.so",
        "libjanus_mqttevh.so",
        "libjanus_nanomsgevh.so",
        "libjanus_rabbitmqevh.so",
        "libjanus_sampleevh.so",
        "libjanus_wsevh.so",
    ),
    "loggers": ("libjanus_jsonlog.so",),
}

# Janus refuses to create files (e.g. recordings) below these folders.
PROTECTED_FOLDERS = (
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/proc",
    "/root",
    "/sbin",
    "/sys",
    "/usr",
    "/var",
)

_PORT_RANGE = re.compile(r"^(\d{1,5})-(\d{1,5})$")
_INTERFACE = re.compile(r"^[A-Za-z0-9_.:,-]+$")


@dataclass(frozen=True)
class JanusSettings:
    """Everything that varies between one Janus run and another.

    The secrets are left out of ``repr`` so that logging a settings object is safe.
    """

    ws_port: int
    api_secret: str = field(repr=False)
    admin_secret: str = field(repr=False)
    admin_ws_port: int
    admin_key: str = field(repr=False)
    ice_interface: str | None
    rtp_port_range: str = "20000-40000"
    log_path: Path | None = None
    session_timeout: int = 60
    debug_level: int = 4

    def __post_init__(self) -> None:
        for port in (self.ws_port, self.admin_ws_port):
            if not 1 <= port <= 65535:
                raise ValueError(f"invalid port {port}")
        if self.ws_port == self.admin_ws_port:
            raise ValueError("ws_port and admin_ws_port must differ")
        for name in ("api_secret", "admin_secret", "admin_key"):
            _check_secret(name, getattr(self, name))
        check_port_range(self.rtp_port_range)
        if self.ice_interface is not None and not _INTERFACE.match(self.ice_interface):
            raise ValueError(f"invalid ice_interface {self.ice_interface!r}")
        if self.session_timeout < 0:
            raise ValueError("session_timeout must be >= 0")
        if not 0 <= self.debug_level <= 7:
            raise ValueError("debug_level must be between 0 and 7")

    @classmethod
    def with_random_secrets(
        cls,
        *,
        ws_port: int,
        admin_ws_port: int,
        ice_interface: str | None,
        rtp_port_range: str = "20000-40000",
        log_path: Path | None = None,
        session_timeout: int = 60,
        debug_level: int = 4,
    ) -> JanusSettings:
        """Settings with fresh random api_secret, admin_secret and admin_key."""
        return cls(
            ws_port=ws_port,
            api_secret=secrets.token_urlsafe(24),
            admin_secret=secrets.token_urlsafe(24),
            admin_ws_port=admin_ws_port,
            admin_key=secrets.token_urlsafe(24),
            ice_interface=ice_interface,
            rtp_port_range=rtp_port_range,
            log_path=log_path,
            session_timeout=session_timeout,
            debug_level=debug_level,
        )

    @property
    def api_url(self) -> str:
        """URL of the Janus API websocket (loopback)."""
        return f"ws://127.0.0.1:{self.ws_port}"

    @property
    def admin_url(self) -> str:
        """URL of the Janus admin API websocket (loopback)."""
        return f"ws://127.0.0.1:{self.admin_ws_port}"


def _check_secret(name: str, value: str) -> None:
    # Control characters could break out of the quoted string in the config file.
    if not value or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError(f"{name} must be a non-empty string without control characters")


def check_port_range(value: str) -> None:
    """Refuse a media port range that is not LOW-HIGH within 1-65535."""
    match = _PORT_RANGE.match(value)
    if not match or not 1 <= int(match[1]) <= int(match[2]) <= 65535:
        raise ValueError(f"invalid rtp_port_range {value!r} (expected e.g. '20000-40000')")


def janus_lib_dir() -> Path:
    """The folder holding Janus's plugins/, transports/, events/ and loggers/."""
    multiarch = sysconfig.get_config_var("MULTIARCH") or f"{os.uname().machine}-linux-gnu"
    candidates = [Path("/usr/lib") / multiarch / "janus", *sorted(Path("/usr/lib").glob("*/janus"))]
    candidates.append(Path("/usr/lib/janus"))
    for candidate in candidates:
        if (candidate / "plugins").is_dir():
            return candidate
    return candidates[0]


def modules_to_disable(folder: Path, kind: str, keep: Iterable[str] = ()) -> list[str]:
    """Every module of ``kind`` found in ``folder`` or known to exist, except ``keep``."""
    found: set[str] = set(KNOWN_MODULES.get(kind, ()))
    # If the folder is missing or unreadable, the known list still disables what Debian ships.
    with contextlib.suppress(OSError):
        found.update(
            entry.name
            for entry in folder.iterdir()
            if entry.name.startswith("libjanus_") and entry.name.endswith(".so")
        )
    return sorted(found - set(keep))


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _render_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render_value(item) for item in value) + "]"
    return _quote(str(value))


def render_jcfg(sections: Mapping[str, Mapping[str, object]]) -> str:
    """Render ``{section: {key: value}}`` in Janus's libconfig-style jcfg syntax."""
    lines = ["# Generated by Haven; do not edit: it is rewritten on every start.", ""]
    for section, items in sections.items():
        lines.append(f"{section}: {{")
        lines.extend(f"\t{key} = {_render_value(value)}" for key, value in items.items())
        lines.extend(["}", ""])
    return "\n".join(lines)


def _core_sections(folder: Path, settings: JanusSettings) -> dict[str, dict[str, object]]:
    lib = janus_lib_dir()
    general: dict[str, object] = {
        "configs_folder": str(folder),
        "plugins_folder": str(lib / "plugins"),
        "transports_folder": str(lib / "transports"),
        "events_folder": str(lib / "events"),
        "loggers_folder": str(lib / "loggers"),
        "debug_level": settings.debug_level,
        "debug_timestamps": True,
        "debug_colors": False,
        "log_to_stdout": True,
        "daemonize": False,
        "api_secret": settings.api_secret,
        "admin_secret": settings.admin_secret,
        "token_auth": False,
        "server_name": "haven",
        "session_timeout": settings.session_timeout,
        # Sessions die with the websocket: Haven re-creates what it needs after a reset.
        "reclaim_session_timeout": 0,
        "hide_dependencies": True,
        "protected_folders": list(PROTECTED_FOLDERS),
    }
    if settings.log_path is not None:
        general["log_to_file"] = str(settings.log_path)
    nat: dict[str, object] = {"nice_debug": False, "ice_ignore_list": "vmnet"}
    if settings.ice_interface is not None:
        nat["ice_enforce_list"] = settings.ice_interface
        if "," not in settings.ice_interface:
            # Janus otherwise guesses its local IP from the default route, which a test
            # namespace does not have ("Couldn't find any address!").
            general["interface"] = settings.ice_interface
    return {
        "general": general,
        "certificates": {},
        "media": {"rtp_port_range": settings.rtp_port_range},
        "nat": nat,
        "plugins": {
            "disable": _joined(modules_to_disable(lib / "plugins", "plugins", [ENABLED_PLUGIN]))
        },
        "transports": {
            "disable": _joined(
                modules_to_disable(lib / "transports", "transports", [ENABLED_TRANSPORT])
            )
        },
        "loggers": {"disable": _joined(modules_to_disable(lib / "loggers", "loggers"))},
        "events": {
            "broadcast": False,
            "disable": _joined(modules_to_disable(lib / "events", "events")),
        },
    }


def _joined(names: list[str]) -> str:
    return ",".join(names)


def _websockets_sections(settings: JanusSettings) -> dict[str, dict[str, object]]:
    return {
        "general": {
            "json": "compact",
            "events": False,
            "ws": True,
            "ws_port": settings.ws_port,
            "ws_ip": "127.0.0.1",
            "ws_acl": "127.",
            "wss": False,
        },
        "admin": {
            "admin_ws": True,
            "admin_ws_port": settings.admin_ws_port,
            "admin_ws_ip": "127.0.0.1",
            "admin_ws_acl": "127.",
            "admin_wss": False,
        },
        "cors": {},
        "certificates": {},
    }


def _videoroom_sections(settings: JanusSettings) -> dict[str, dict[str, object]]:
    # No room sections at all: Haven creates every room through the API.
    return {
        "general": {
            "admin_key": settings.admin_key,
            "lock_rtp_forward": True,
            "events": False,
            "string_ids": False,
        }
    }


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing file keeps its mode on O_CREAT: force it
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


def write_janus_config(folder: Path, settings: JanusSettings) -> Path:
    """Write janus.jcfg and the websockets and videoroom configs into ``folder``.

    The files hold secrets, so they are written with mode 0600. Returns ``folder``.
    """
    folder = folder.resolve()
    if folder == Path("/etc/janus") or Path("/etc/janus") in folder.parents:
        raise ValueError("refusing to write into /etc/janus")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    files = {
        "janus.jcfg": _core_sections(folder, settings),
        "janus.transport.websockets.jcfg": _websockets_sections(settings),
        "janus.plugin.videoroom.jcfg": _videoroom_sections(settings),
    }
    for name, sections in files.items():
        _write_private(folder / name, render_jcfg(sections))
    return folder


def janus_command(folder: Path, binary: Path = JANUS_BINARY) -> list[str]:
    """The command line that runs Janus in the foreground on the config in ``folder``."""
    folder = folder.resolve()
    return [
        str(binary),
        "-C",
        str(folder / "janus.jcfg"),
        "-F",
        str(folder),
        # Janus never daemonizes without -b; these keep its stdout log plain.
        "--disable-colors",
        "--debug-timestamps",
    ]
