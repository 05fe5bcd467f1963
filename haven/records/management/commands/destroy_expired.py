from typing import Any

from django.core.management.base import BaseCommand

from haven.records.actions import destroy_expired_transcripts


class Command(BaseCommand):
    help = "Destroy personal data whose retention period has ended (run daily from cron)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = destroy_expired_transcripts()
        self.stdout.write(f"Destroyed {count} transcript(s) past their retention date.")
