import os
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.accounts.models import User
from haven.policy.models import Organisation


class Command(BaseCommand):
    help = "Create a staff account. The password is read from HAVEN_NEW_STAFF_PASSWORD."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", required=True, help="The organisation's slug.")
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--job-title", required=True)

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
        User.objects.create_user(
            email=email,
            password=password,
            full_name=options["name"],
            job_title=options["job_title"],
            organisation=organisation,
        )
        self.stdout.write(f"Created a staff account for {email}.")
