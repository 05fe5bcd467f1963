from typing import Any

from django.core.management.base import BaseCommand, CommandError

from haven.records.retention import KINDS, run_retention


class Command(BaseCommand):
    help = (
        "Destroy personal data whose retention period has ended (rule D3): run daily from "
        "cron, or let `manage.py serve` run it on a schedule. Safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        run = run_retention("command")
        self.stdout.write("Destroyed what was past its retention period (rule D3):")
        for kind, words in KINDS.items():
            self.stdout.write(f"{kind}: {run.counts[kind]}  ({words})")
        if run.problems:
            raise CommandError("\n".join(run.problems))
