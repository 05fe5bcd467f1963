from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


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
