import secrets
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from haven.accounts.actions import create_staff_account
from haven.accounts.models import User
from haven.accounts.permissions import StaffRole
from haven.policy.loader import load_policy

DEMO_EMAIL = "host@demo.haven.invalid"


class Command(BaseCommand):
    help = "Load the service's policy and a demo staff host. Prints the password once."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            policy = load_policy()
            if User.objects.filter(email=DEMO_EMAIL).exists():
                self.stdout.write(
                    f"Demo host {DEMO_EMAIL} already exists (its password was printed when it "
                    "was made; `make demo-password` sets a new one)."
                )
                return
            password = secrets.token_urlsafe(12)
            create_staff_account(
                policy.organisation,
                email=DEMO_EMAIL,
                password=password,
                full_name="Alex Morgan",
                job_title="Information, Advice and Support Officer",
                roles=[StaffRole.HOST],
            )
        self.stdout.write(
            "\nA demo staff host was made. Sign in with these details (shown only this once):\n"
            f"  email:    {DEMO_EMAIL}\n  password: {password}\n"
            "The first sign-in sets up an authenticator app on your phone (two-factor).\n"
        )
