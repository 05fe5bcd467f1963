import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from haven.accounts.management.commands.seed_demo import DEMO_EMAIL
from haven.accounts.models import User


class Command(BaseCommand):
    help = "Give the demo staff host a new password and print it once."

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email=DEMO_EMAIL).first()
        if user is None:
            raise CommandError("There is no demo host yet: run `make run` first.")
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.save(update_fields=["password"])
        self.stdout.write(f"New password for {DEMO_EMAIL}: {password}")
