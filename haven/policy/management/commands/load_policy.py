from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.policy.loader import DEFAULT_POLICY_FILE, PolicyFileError, load_policy


class Command(BaseCommand):
    help = "Publish an organisation's policy from its data file (once per version)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_POLICY_FILE)

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        try:
            policy = load_policy(path)
        except PolicyFileError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"{policy.organisation.name}: policy {policy.version} "
            f"(review date {policy.review_date_label}) is in force."
        )
