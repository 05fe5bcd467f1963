from typing import Any

from django.core.management.base import BaseCommand, CommandError

from haven.audit.log import verify_chain


class Command(BaseCommand):
    help = "Check that the audit log's hash chain is intact; name the first broken entry."

    def handle(self, *args: Any, **options: Any) -> None:
        checked, broken = verify_chain()
        if broken is None:
            self.stdout.write(f"The audit log is intact: {checked} entries checked.")
            return
        where = f"entry {broken.event_id}" if broken.event_id else "the end of the log"
        raise CommandError(
            f"The audit log has been tampered with at {where}: {broken.reason}. "
            f"{checked} entries before it are intact."
        )
