from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.policy.loader import DEFAULT_POLICY_FILE, PolicyFileError, load_policy


class Command(BaseCommand):
    help = (
        "Publish an organisation's policy from its data file (once per version). A file "
        "with a slug Haven does not know adds that organisation."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_POLICY_FILE)
        parser.add_argument(
            "--new-organisation",
            action="store_true",
            help="The file is a new organisation's: refuse it if its slug is already taken.",
        )

    def handle(
        self, *args: Any, path: Path, new_organisation: bool = False, **options: Any
    ) -> None:
        try:
            policy = load_policy(path, new_organisation=new_organisation)
        except PolicyFileError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"{policy.organisation.name}: policy {policy.version} "
            f"(review date {policy.review_date_label}) is in force."
        )
