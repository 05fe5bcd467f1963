import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.media.turn import TurnConfigError, TurnSettings, turn_command, write_turn_config


def turn_settings() -> TurnSettings:
    """coturn's settings from HAVEN_TURN_* (docs/deployment.md, "TURN")."""
    low, _, high = settings.HAVEN_TURN_RELAY_PORTS.partition("-")
    try:
        relay_ports = (int(low), int(high))
    except ValueError:
        raise CommandError("HAVEN_TURN_RELAY_PORTS must look like 49152-65535.") from None
    return TurnSettings(
        secret=settings.HAVEN_TURN_SECRET,
        realm=settings.HAVEN_TURN_REALM,
        port=settings.HAVEN_TURN_PORT,
        tls_port=settings.HAVEN_TURN_TLS_PORT,
        listen_ips=tuple(settings.HAVEN_TURN_LISTEN_IPS),
        relay_ips=tuple(settings.HAVEN_TURN_RELAY_IPS),
        external_ip=settings.HAVEN_TURN_EXTERNAL_IP,
        relay_ports=relay_ports,
        tls_cert=settings.HAVEN_TURN_TLS_CERT,
        tls_key=settings.HAVEN_TURN_TLS_KEY,
        allowed_peer_ips=tuple(settings.HAVEN_TURN_ALLOWED_PEER_IPS),
    )


class Command(BaseCommand):
    help = (
        "Write coturn's configuration from Haven's settings into HAVEN_TURN_RUN_DIR, then "
        "become coturn (for deploy/systemd/haven-coturn.service). --write-only: just write it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--write-only", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = write_turn_config(Path(settings.HAVEN_TURN_RUN_DIR), turn_settings())
        except (TurnConfigError, ValueError) as error:
            raise CommandError(str(error)) from None
        command = turn_command(config)
        if options["write_only"]:
            self.stdout.write(" ".join(command))
            return
        # Replace this process: systemd supervises coturn itself.
        os.execv(command[0], command)  # noqa: S606
