from functools import cached_property
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models

from haven.accounts.permissions import StaffRole


class StaffManager(UserManager["User"]):
    """Staff sign in with their email address; there is no separate username."""

    def create_user(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra: Any
    ) -> "User":
        email = self.normalize_email(email).lower()
        extra.setdefault("username", email)
        return super().create_user(email=email, password=password, **extra)


class User(AbstractUser):
    """A member of staff. Only staff can host (rule U1); attendees are never Users."""

    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150)
    job_title = models.CharField(max_length=150, help_text="Shown to attendees (rule U1).")
    organisation = models.ForeignKey(
        "policy.Organisation", on_delete=models.PROTECT, related_name="staff"
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["username", "full_name"]

    objects = StaffManager()  # type: ignore[misc]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"

    @cached_property
    def role_names(self) -> frozenset[str]:
        """This person's staff roles (rule P2), read once per request."""
        return frozenset(self.role_grants.values_list("role", flat=True))

    def role_labels(self) -> list[str]:
        return [StaffRole(role).label for role in StaffRole if role in self.role_names]


class RoleGrant(models.Model):
    """One staff role held by one member of staff. A person may hold several."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(max_length=30, choices=[(r.value, r.label) for r in StaffRole])
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="one_grant_per_role")]

    def __str__(self) -> str:
        return f"{self.user}: {self.role}"


class StaffSession(models.Model):
    """One signed-in browser of one member of staff, so sessions can be timed out and ended.

    A Django session counts as signed in only while its row is here: signing out, "sign
    out everywhere", deactivation and the timeouts all delete it (ASVS 7.3, 7.4).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="staff_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    signed_in_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    # When the person last gave their password and a code (sign-in or a re-check).
    reauthenticated_at = models.DateTimeField()
    user_agent = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.user} since {self.signed_in_at:%Y-%m-%d %H:%M}"


class StaffSetupLink(models.Model):
    """A one-time link, sent by email, with which invited staff choose their password."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="setup_links")
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"set-up link for {self.user}"
