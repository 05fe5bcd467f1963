"""Set an organisation's single sign-on (docs/deployment.md), or allow a first link."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from haven.accounts import oidc
from haven.accounts.models import SingleSignOn, User
from haven.accounts.permissions import StaffRole
from haven.audit.log import Actor, record
from haven.policy.models import Organisation


class Command(BaseCommand):
    help = (
        "Set how an organisation's staff sign in with its OpenID provider, or (with "
        "--allow-link EMAIL) let one staff account be linked at its next single sign-on."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", required=True, help="The organisation's slug.")
        parser.add_argument("--required", choices=["on", "off"])
        parser.add_argument("--create-accounts", choices=["on", "off"])
        parser.add_argument("--roles-claim", help='The claim with roles, e.g. "roles".')
        parser.add_argument(
            "--role-map", help='JSON: claim value -> role, e.g. {"Haven.Host": "host"}.'
        )
        parser.add_argument(
            "--mfa-acr", action="append", help="An acr value meaning two factors; repeat."
        )
        parser.add_argument("--allow-link", metavar="EMAIL", help="A staff account's email.")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        organisation = Organisation.objects.filter(slug=options["organisation"]).first()
        if organisation is None:
            raise CommandError(f"No organisation {options['organisation']!r}.")
        if options["allow_link"]:
            email = options["allow_link"].strip().lower()
            user = User.objects.filter(email=email, organisation=organisation).first()
            if user is None:
                raise CommandError(f"No staff account {email!r} in {organisation.slug}.")
            oidc.allow_link_by_email(Actor.system(), user)
            self.stdout.write(f"{email} will be linked at its next single sign-on.")
        sso, _ = SingleSignOn.objects.get_or_create(organisation=organisation)
        before = _settings(sso)
        if options["required"] is not None:
            sso.required = options["required"] == "on"
        if options["create_accounts"] is not None:
            sso.create_accounts = options["create_accounts"] == "on"
        if options["roles_claim"] is not None:
            sso.roles_claim = options["roles_claim"]
        if options["role_map"] is not None:
            sso.role_map = _role_map(options["role_map"])
        if options["mfa_acr"] is not None:
            sso.mfa_acr_values = [value for value in options["mfa_acr"] if value]
        sso.save()
        after = _settings(sso)
        if before != after:
            record(
                "organisation.single_sign_on_changed",
                Actor.system(),
                organisation=organisation.slug,
                before=before,
                after=after,
            )
        self.stdout.write(json.dumps(after, sort_keys=True))


def _settings(sso: SingleSignOn) -> dict[str, Any]:
    return {
        "required": sso.required,
        "create_accounts": sso.create_accounts,
        "roles_claim": sso.roles_claim,
        "role_map": sso.role_map,
        "mfa_acr_values": sso.mfa_acr_values,
    }


def _role_map(text: str) -> dict[str, str]:
    try:
        mapping = json.loads(text)
    except ValueError as error:
        raise CommandError(f"--role-map is not JSON: {error}") from error
    valid = {role.value for role in StaffRole}
    if not isinstance(mapping, dict) or not all(
        isinstance(key, str) and value in valid for key, value in mapping.items()
    ):
        raise CommandError(f"--role-map must map claim values to roles: {sorted(valid)}.")
    return mapping
