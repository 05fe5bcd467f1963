"""Forms for signing in, two-factor codes, setting a password and managing staff."""

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm

from haven.accounts.models import User
from haven.accounts.permissions import ROLE_DESCRIPTIONS, StaffRole
from haven.limits import Text

CODE_HELP = "The 6-digit code your authenticator app shows now, or one of your recovery codes."


class SignInForm(AuthenticationForm):
    """Email and password: the first of two steps."""

    error_messages = {
        "invalid_login": "The email address or password is not right.",
        "inactive": "The email address or password is not right.",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email address"
        self.fields["username"].widget.attrs.update({"autocomplete": "username"})

    def clean_username(self) -> str:
        """Accounts are stored by lower-case address: "Alex@Example.org " is the same one."""
        return str(self.cleaned_data.get("username", "")).strip().lower()


def code_field(help_text: str = CODE_HELP) -> forms.CharField:
    return forms.CharField(
        label="Code",
        max_length=20,
        help_text=help_text,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "spellcheck": "false"}
        ),
    )


def clean_code(value: str) -> str:
    """People type spaces and dashes in codes; they are not part of them."""
    return "".join(ch for ch in value if ch.isalnum()).lower()


class CodeForm(forms.Form):
    """The second step: a code from the authenticator app, or a recovery code."""

    code = code_field()

    def clean_code(self) -> str:
        return clean_code(self.cleaned_data["code"])


class EnrolForm(forms.Form):
    code = code_field("The 6-digit code your authenticator app shows for Haven now.")

    def clean_code(self) -> str:
        code = clean_code(self.cleaned_data["code"])
        if not code.isdigit() or len(code) != 6:
            raise forms.ValidationError("Type the 6 digits your authenticator app shows.")
        return code


class ConfirmForm(forms.Form):
    """Re-authentication before a sensitive action: the password and a code again."""

    password = forms.CharField(
        label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    code = code_field()

    def clean_code(self) -> str:
        return clean_code(self.cleaned_data["code"])


class ChoosePasswordForm(SetPasswordForm):  # type: ignore[type-arg]
    """A new member of staff chooses their password (checked as in ASVS 6.2)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = "Choose a password"
        self.fields["new_password1"].help_text = (
            "At least 12 characters. Three or four unrelated words are easy to remember "
            "and hard to guess."
        )
        self.fields["new_password2"].label = "Type the password again"
        self.fields["new_password2"].help_text = ""


def role_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label="Roles",
        choices=[(role.value, f"{role.label}: {ROLE_DESCRIPTIONS[role]}") for role in StaffRole],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one role."},
    )


class StaffInviteForm(forms.Form):
    full_name = Text(
        what="name",
        label="Full name",
        max_length=150,
        help_text="Shown to attendees when they host.",
    )
    email = forms.EmailField(label="Email address", help_text="Their set-up link goes here.")
    job_title = Text(
        what="job title",
        label="Job title",
        max_length=150,
        help_text="Shown to attendees when they host (U1).",
    )
    roles = role_field()

    def clean_email(self) -> str:
        email = str(self.cleaned_data["email"]).strip().lower()
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError("There is already a staff account with this email.")
        return email


class StaffChangeForm(forms.Form):
    job_title = Text(
        what="job title",
        label="Job title",
        max_length=150,
        help_text="Shown to attendees when they host (U1).",
    )
    roles = role_field()


class AuditFilterForm(forms.Form):
    """Which part of the audit log to show (rule D5): one meeting, one person, or both."""

    meeting = forms.ChoiceField(label="Meeting", required=False)
    email = forms.EmailField(
        label="Person's email address",
        required=False,
        help_text="Shows what they did and what was done about them.",
    )

    def __init__(self, *args: Any, meetings: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "Any meeting")]
        choices += [
            (str(m.public_id), f"{m.title} ({m.starts_at:%d %b %Y, %H:%M})") for m in meetings
        ]
        self.fields["meeting"].choices = choices  # type: ignore[attr-defined]
