import binascii
import os
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.accounts.actions import create_staff_account
from haven.accounts.models import User
from haven.accounts.permissions import StaffRole
from haven.policy.models import Organisation


class Command(BaseCommand):
    help = (
        "Create a staff account. The password is read from HAVEN_NEW_STAFF_PASSWORD. "
        "The person sets up their authenticator app when they first sign in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", required=True, help="The organisation's slug.")
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--job-title", required=True)
        parser.add_argument(
            "--role",
            action="append",
            choices=[role.value for role in StaffRole],
            help="A staff role; repeat for several. Default: host.",
        )
        parser.add_argument(
            "--totp-secret",
            default="",
            help=(
                "Provision an authenticator (TOTP) with this hex secret instead of asking "
                "the person to set one up: for tests and pre-programmed hardware tokens."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = Organisation.objects.filter(slug=options["organisation"]).first()
        if organisation is None:
            raise CommandError(
                f"No organisation {options['organisation']!r}: load its policy first."
            )
        password = os.environ.get("HAVEN_NEW_STAFF_PASSWORD", "")
        email = options["email"].strip().lower()
        if User.objects.filter(email=email).exists():
            raise CommandError(f"A staff account for {email} already exists.")
        candidate = User(email=email, full_name=options["name"])
        try:
            validate_password(password, candidate)
        except ValidationError as error:
            raise CommandError("HAVEN_NEW_STAFF_PASSWORD: " + " ".join(error.messages)) from None
        secret = _checked_secret(options["totp_secret"])
        roles = options["role"] or [StaffRole.HOST.value]
        with transaction.atomic():
            user = create_staff_account(
                organisation,
                email=email,
                full_name=options["name"],
                job_title=options["job_title"],
                password=password,
                roles=roles,
            )
            if secret:
                TOTPDevice.objects.create(
                    user=user, name="Provisioned authenticator", key=secret, confirmed=True
                )
        self.stdout.write(f"Created a staff account for {email} ({', '.join(sorted(roles))}).")


def _checked_secret(secret: str) -> str:
    if not secret:
        return ""
    try:
        raw = binascii.unhexlify(secret)
    except (binascii.Error, ValueError):
        raise CommandError("--totp-secret must be hexadecimal.") from None
    if not 10 <= len(raw) <= 40:
        raise CommandError("--totp-secret must be 10 to 40 bytes (20 to 80 hex digits).")
    return secret.lower()
