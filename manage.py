#!/usr/bin/env python3
"""Django's command-line utility for Haven."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haven.settings")
    from django.core.management import execute_from_command_line

    from haven.env import ConfigError

    try:
        execute_from_command_line(sys.argv)
    except ConfigError as error:
        sys.exit(f"Haven's configuration has a problem: {error}")


if __name__ == "__main__":
    main()
