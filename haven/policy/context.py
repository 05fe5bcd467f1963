from typing import Any

from django.http import HttpRequest

from haven.accounts.permissions import oversees_policy


def policy_in_force(request: HttpRequest) -> dict[str, Any]:
    """Give staff pages their organisation's policy (contact, privacy link) by default,
    and tell coordinators, administrators and the service manager on every page when its
    review date has passed (rule P1).

    Attendee pages pass the policy of their own meeting explicitly.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    organisation = user.organisation
    policy = organisation.policy_in_force()
    overdue = oversees_policy(user) and policy.is_overdue
    return {
        "policy": policy,
        "organisation_name": organisation.name,
        "policy_review_overdue": overdue,
        "policy_in_force": policy,
    }
