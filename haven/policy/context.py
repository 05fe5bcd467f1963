from typing import Any

from django.http import HttpRequest


def policy_in_force(request: HttpRequest) -> dict[str, Any]:
    """Give staff pages their organisation's policy (contact, privacy link) by default.

    Attendee pages pass the policy of their own meeting explicitly.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    organisation = user.organisation
    return {"policy": organisation.policy_in_force(), "organisation_name": organisation.name}
