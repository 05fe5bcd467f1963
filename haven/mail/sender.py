"""Who an email is from: the organisation by name, at the deployment's one address.

People trust an email from the service they know ("SENDIASS Leicester"), not from a
product name. The address is the part of `HAVEN_FROM_EMAIL` between the angle brackets
(or all of it); the name is the organisation's, from its policy data.
"""

from email.utils import formataddr, parseaddr

from django.conf import settings

from haven.policy.models import Organisation


def sender(organisation: Organisation) -> str:
    """`"Name" <address>` for the From header; a name never carries a line break."""
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL
    name = " ".join(organisation.name.split())
    return formataddr((name, address))
