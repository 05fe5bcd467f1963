import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from haven.media.janus_config import janus_command, write_janus_config
from haven.media.janus_process import find_janus
from haven.room.management.commands.serve import _janus_settings


class Command(BaseCommand):
    help = (
        "Write Janus's configuration from Haven's settings into HAVEN_JANUS_RUN_DIR, then "
        "become Janus (for deploy/systemd/haven-janus.service). --write-only: just write it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--write-only", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        folder = write_janus_config(Path(settings.HAVEN_JANUS_RUN_DIR), _janus_settings())
        command = janus_command(folder, find_janus())
        if options["write_only"]:
            self.stdout.write(" ".join(command))
            return
        # Replace this process: systemd supervises Janus itself, and stopping the unit
        # stops Janus.
        os.execv(command[0], command)  # noqa: S606
