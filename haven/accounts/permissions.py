"""Staff roles and what each may do: the one table of named permission sets (rule P2).

Deny by default: a permission is granted only if one of the person's roles lists it here.
Object-level checks (a host sees only their own meetings, staff only in their own
organisation) live in the access helpers (haven/meetings/access.py, haven/accounts/access.py),
which give the same "not found" for a missing object and a forbidden one.
"""

from collections.abc import Iterable
from enum import StrEnum
from typing import Any


class StaffRole(StrEnum):
    HOST = "host"
    COORDINATOR = "coordinator"
    ADMINISTRATOR = "administrator"
    SERVICE_MANAGER = "service_manager"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    StaffRole.HOST: "Host",
    StaffRole.COORDINATOR: "Digital coordinator",
    StaffRole.ADMINISTRATOR: "Administrator",
    StaffRole.SERVICE_MANAGER: "Service manager",
}

ROLE_DESCRIPTIONS = {
    StaffRole.HOST: "Schedules and runs their own meetings.",
    StaffRole.COORDINATOR: "Manages the policy, house rules, staff and bans.",
    StaffRole.ADMINISTRATOR: "Manages the policy, house rules, staff and bans.",
    StaffRole.SERVICE_MANAGER: "Oversees the service: reads everything, the audit log included.",
}


class Permission(StrEnum):
    HOST_MEETINGS = "meetings.host"
    SEND_DOCUMENTS = "meetings.send_documents"
    VIEW_POLICY = "policy.view"
    MANAGE_POLICY = "policy.manage"
    VIEW_STAFF = "staff.view"
    MANAGE_STAFF = "staff.manage"
    VIEW_BANS = "bans.view"
    MANAGE_BANS = "bans.manage"
    VIEW_AUDIT = "audit.view"
    VIEW_ALL_MEETINGS = "meetings.view_all"
    # The compliance evidence of any meeting of the organisation; a host sees their own
    # meetings' evidence through HOST_MEETINGS (haven/audit/evidence.py, access_evidence).
    VIEW_EVIDENCE = "evidence.view"
    # The assurance documents (haven/assurance): DPIA draft, record of processing,
    # accessibility statement, security summary.
    VIEW_ASSURANCE = "assurance.view"
    EXPORT_PERSONAL_DATA = "people.export"
    ERASE_PERSONAL_DATA = "people.erase"


_MANAGERS = frozenset(
    {
        Permission.VIEW_POLICY,
        Permission.MANAGE_POLICY,
        Permission.VIEW_STAFF,
        Permission.MANAGE_STAFF,
        Permission.VIEW_BANS,
        Permission.MANAGE_BANS,
        Permission.EXPORT_PERSONAL_DATA,
        Permission.ERASE_PERSONAL_DATA,
    }
)

# The table. Roles add up: a coordinator who also hosts has both roles.
ROLE_PERMISSIONS: dict[StaffRole, frozenset[Permission]] = {
    StaffRole.HOST: frozenset({Permission.HOST_MEETINGS, Permission.SEND_DOCUMENTS}),
    StaffRole.COORDINATOR: _MANAGERS | {Permission.VIEW_EVIDENCE, Permission.VIEW_ASSURANCE},
    StaffRole.ADMINISTRATOR: _MANAGERS,
    StaffRole.SERVICE_MANAGER: frozenset(
        {
            Permission.VIEW_POLICY,
            Permission.VIEW_STAFF,
            Permission.VIEW_BANS,
            Permission.VIEW_AUDIT,
            Permission.VIEW_ALL_MEETINGS,
            Permission.VIEW_EVIDENCE,
            Permission.VIEW_ASSURANCE,
        }
    ),
}

# Roles who are told on every page when the policy's review date has passed (rule P1).
POLICY_OVERSIGHT_ROLES = frozenset(
    {StaffRole.COORDINATOR, StaffRole.ADMINISTRATOR, StaffRole.SERVICE_MANAGER}
)


def permissions_for(roles: Iterable[str]) -> frozenset[Permission]:
    """Every permission the roles grant together; unknown role names grant nothing."""
    granted: set[Permission] = set()
    for role in roles:
        if role in StaffRole.__members__.values():
            granted |= ROLE_PERMISSIONS[StaffRole(role)]
    return frozenset(granted)


def has_permission(user: Any, permission: Permission) -> bool:
    """May this signed-in, active member of staff do this? Anyone else: no."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return permission in permissions_for(user.role_names)


def oversees_policy(user: Any) -> bool:
    """Is this person told when the policy is overdue for review (rule P1)?"""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(POLICY_OVERSIGHT_ROLES & set(user.role_names))
