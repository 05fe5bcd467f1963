import asyncio
import contextlib
import logging
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.accounts import oidc
from haven.media.janus_config import JanusSettings, write_janus_config
from haven.media.janus_process import JanusProcess, JanusStartError
from haven.records.schedule import retention_schedule
from haven.room import presence
from haven.room.protocol import MAX_FRAME

logger = logging.getLogger("haven.serve")
# The largest WebSocket frame uvicorn accepts: a protocol frame of MAX_FRAME characters,
# each up to 4 bytes in UTF-8. Anything bigger is refused before it is read into memory.
WS_MAX_BYTES = 4 * MAX_FRAME


class Command(BaseCommand):
    help = "Run Haven (and, unless --no-janus, the Janus media server it owns) until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--uds", type=Path, help="Also listen on this Unix socket.")
        parser.add_argument(
            "--no-janus", action="store_true", help="Janus is run by systemd or a container."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Python warnings too go through Haven's log format (one JSON line each), not raw
        # to standard error.
        logging.captureWarnings(True)
        janus = None if options["no_janus"] else self.start_janus()
        try:
            sockets = [_tcp_socket(options["host"], options["port"])]
            if options["uds"]:
                sockets.append(_unix_socket(options["uds"]))
            # Through logging, so that with HAVEN_LOG_FORMAT=json every line is JSON.
            logger.info("Haven is running: %s/  (Ctrl-C stops it)", settings.BASE_URL)
            config = uvicorn.Config(
                "haven.asgi:application",
                lifespan="off",
                log_level="warning",
                # Haven's LOGGING (settings) formats uvicorn's messages too; no access
                # log, whose paths would carry personal link tokens.
                log_config=None,
                access_log=False,
                # uvicorn's websockets-sansio, closing a text frame that is not UTF-8
                # quietly (1007) rather than with an ERROR in the log.
                ws="haven.room.websocket_server:HavenWebSocketProtocol",
                ws_max_size=WS_MAX_BYTES,
            )
            server = StoppingServer(config)
            with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
                runner.run(_serve(server, sockets))
        except KeyboardInterrupt:
            logger.info("Haven stopped.")
        finally:
            if janus is not None:
                janus.stop()
                logger.info("Janus stopped.")

    def start_janus(self) -> JanusProcess:
        janus_settings = _janus_settings()
        folder = write_janus_config(Path(settings.HAVEN_JANUS_RUN_DIR), janus_settings)
        janus = JanusProcess(folder, janus_settings)
        try:
            janus.start()
        except JanusStartError as error:
            raise CommandError(
                f"The Janus media server did not start.\n{error}\n"
                "What to do: check that Debian's janus package is installed "
                "(apt-get install janus) and that nothing else uses port "
                f"{janus_settings.ws_port} or {janus_settings.admin_ws_port}."
            ) from error
        logger.info("Janus is running (pid %s), config in %s.", janus.pid, folder)
        return janus


async def _serve(server: uvicorn.Server, sockets: list[socket.socket]) -> None:
    """Serve, and run the retention job on its schedule beside it (rule D3)."""
    interval = settings.HAVEN_RETENTION_INTERVAL_MINUTES
    job = asyncio.create_task(retention_schedule(interval)) if interval > 0 else None
    # Single sign-on: ask the provider again whether each signed-in person may stay.
    recheck = asyncio.create_task(oidc.recheck_schedule()) if oidc.enabled() else None
    try:
        await server.serve(sockets=sockets)
    finally:
        if recheck is not None:
            recheck.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recheck
        if job is not None:
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job


class StoppingServer(uvicorn.Server):
    """uvicorn's server, which first notes that this process is stopping (SIGTERM, Ctrl-C):
    the meeting sockets it then closes keep their people's places for them to resume on
    another process (haven/room/presence.py)."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        presence.stopping()
        super().handle_exit(sig, frame)


def _janus_settings() -> JanusSettings:
    url = urlsplit(settings.HAVEN_JANUS_URL)
    if url.hostname not in {"127.0.0.1", "localhost"} or url.port is None:
        raise CommandError(
            "HAVEN_JANUS_URL must be ws://127.0.0.1:PORT when Haven starts Janus itself."
        )
    for name in ("HAVEN_JANUS_API_SECRET", "HAVEN_JANUS_ADMIN_SECRET", "HAVEN_JANUS_ADMIN_KEY"):
        if not getattr(settings, name):
            raise CommandError(f"{name} must be set (make run sets it for you).")
    return JanusSettings(
        ws_port=url.port,
        api_secret=settings.HAVEN_JANUS_API_SECRET,
        admin_secret=settings.HAVEN_JANUS_ADMIN_SECRET,
        admin_ws_port=settings.HAVEN_JANUS_ADMIN_PORT,
        admin_key=settings.HAVEN_JANUS_ADMIN_KEY,
        ice_interface=settings.HAVEN_JANUS_ICE_INTERFACE,
        rtp_port_range=settings.HAVEN_JANUS_RTP_PORTS,
    )


def _tcp_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        raise CommandError(f"Cannot listen on {host}:{port}: {error.strerror}.") from error
    sock.set_inheritable(True)
    return sock


def _unix_socket(path: Path) -> socket.socket:
    path.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    path.chmod(0o600)
    return sock
