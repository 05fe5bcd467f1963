import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.accounts.management.commands.seed_demo import DEMO_EMAIL
from haven.accounts.models import User
from haven.accounts.signin import end_all_sessions


class Command(BaseCommand):
    help = (
        "Give the demo staff host a new password and print it once. Its two-factor set-up "
        "is removed too, so the next sign-in sets up an authenticator app again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email=DEMO_EMAIL).first()
        if user is None:
            raise CommandError("There is no demo host yet: run `make run` first.")
        password = secrets.token_urlsafe(12)
        with transaction.atomic():
            user.set_password(password)
            user.save(update_fields=["password"])
            TOTPDevice.objects.filter(user=user).delete()
            StaticDevice.objects.filter(user=user).delete()
            end_all_sessions(user)
        self.stdout.write(f"New password for {DEMO_EMAIL}: {password}")
