from functools import cached_property
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django_otp.models import Device

from haven.accounts.permissions import StaffRole


class StaffManager(UserManager["User"]):
    """Staff sign in with their email address; there is no separate username."""

    def create_user(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra: Any
    ) -> "User":
        email = self.normalize_email(email).lower()
        extra.setdefault("username", email)
        return super().create_user(email=email, password=password, **extra)


class User(AbstractUser):  # type: ignore[django-manager-missing]
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


class ProviderLink(Device):  # type: ignore[misc]  # django-otp ships no types
    """A staff account's link to one person at the organisation's OpenID provider.

    The link is the provider's stable subject id with its issuer (never the email address,
    which the provider may let people change). As a django-otp device it is also how a
    sign-in counts as two factors when the provider says it checked two: it never takes a
    code, so no one can use it to pass Haven's own code step.
    """

    issuer = models.CharField(max_length=300)
    subject = models.CharField(max_length=255)
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="one_link_per_subject"),
            models.UniqueConstraint(fields=["user", "issuer"], name="one_link_per_issuer"),
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.issuer}"

    def verify_token(self, token: Any) -> bool:
        return False


class ProviderSession(models.Model):
    """What Haven holds from the provider for one signed-in browser, to ask again whether
    the person may still sign in (HAVEN_OIDC_RECHECK_MINUTES). Goes with its session."""

    staff_session = models.OneToOneField(
        StaffSession, on_delete=models.CASCADE, related_name="provider"
    )
    link = models.ForeignKey(ProviderLink, on_delete=models.CASCADE, related_name="sessions")
    refresh_token = models.TextField(blank=True)
    checked_at = models.DateTimeField()
    # When the provider first failed to answer since the last good check (it may be down).
    unanswered_since = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"provider session of {self.staff_session}"


class SingleSignOn(models.Model):
    """How one organisation's staff sign in with its OpenID provider (HAVEN_OIDC_*).

    An administrator sets it with `manage.py single_sign_on` (docs/deployment.md).
    """

    organisation = models.OneToOneField(
        "policy.Organisation", on_delete=models.CASCADE, related_name="single_sign_on"
    )
    # Local passwords are refused for this organisation's staff.
    required = models.BooleanField(default=False)
    # A provider account with no Haven account gets one, with no role (rule P2).
    create_accounts = models.BooleanField(default=False)
    # The claim whose values give roles (Entra ID: "roles" for app roles, "groups").
    roles_claim = models.CharField(max_length=100, blank=True)
    # Claim value -> Haven role. Empty: roles are given in Haven only.
    role_map = models.JSONField(default=dict, blank=True)
    # `acr` values that mean the provider checked two factors ("mfa" in `amr` always does).
    mfa_acr_values = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"single sign-on of {self.organisation}"


class PendingProviderLink(models.Model):
    """An administrator's leave for one staff account to be linked, once, to the provider
    account that signs in with the same email address (then the link is by subject id)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="pending_link")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"pending link for {self.user}"
