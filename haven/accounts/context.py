from typing import Any

from django.http import HttpRequest

from haven.accounts.permissions import permissions_for


def staff_permissions(request: HttpRequest) -> dict[str, Any]:
    """What the signed-in member of staff may do, for the navigation (names as strings)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"staff_can": frozenset()}
    return {"staff_can": frozenset(str(p) for p in permissions_for(user.role_names))}
