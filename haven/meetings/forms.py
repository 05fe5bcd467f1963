import datetime as dt
import unicodedata
from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils import timezone

from haven.invitations.models import Role
from haven.limits import Text
from haven.policy.models import MeetingType

LENGTHS = [(30, "30 minutes"), (45, "45 minutes"), (60, "1 hour"), (90, "1 hour 30 minutes")]
LENGTHS += [(120, "2 hours"), (180, "3 hours")]
NAME_TOO_LONG = "Please use a name of 150 characters or fewer. It has %(show_value)d."
RULES_MAX = 5000
UK_DATE_TIMES = ["%d/%m/%Y %H:%M", "%d/%m/%Y %H.%M", "%d/%m/%Y, %H:%M", "%d/%m/%y %H:%M"]


def _starts_at_field() -> forms.DateTimeField:
    """Typed as people in the UK write it: day/month/year, then a 24-hour time.

    A plain text field, not the browser's date picker: the picker shows the browser's own
    order (mm/dd/yyyy in a US-English browser), which a hint cannot match. The ISO form
    (2026-12-01T14:30) is taken too.
    """
    return forms.DateTimeField(
        label="Date and start time",
        help_text="Day/month/year and a 24-hour time, for example 01/12/2026 14:30",
        widget=forms.DateTimeInput(attrs={"autocomplete": "off"}, format="%d/%m/%Y %H:%M"),
        input_formats=[*UK_DATE_TIMES, "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        error_messages={
            "invalid": "Enter the date and time as day/month/year and a 24-hour time, "
            "for example 01/12/2026 14:30."
        },
    )


def _length_field() -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label="Length", choices=LENGTHS, coerce=int, initial=60, required=False, empty_value=None
    )


def _not_in_the_past(starts_at: dt.datetime) -> dt.datetime:
    if starts_at < timezone.now() - dt.timedelta(hours=1):
        raise forms.ValidationError("The start time is in the past. Choose a later time.")
    return starts_at


class MeetingForm(forms.Form):
    title = Text(max_length=200, what="title", label="Title")
    meeting_type = forms.ModelChoiceField(
        queryset=MeetingType.objects.none(), label="Type of meeting", empty_label=None
    )
    starts_at = _starts_at_field()
    duration_minutes = _length_field()

    def __init__(self, *args: Any, meeting_types: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["meeting_type"].queryset = meeting_types  # type: ignore[attr-defined]

    def clean_title(self) -> str:
        return _one_line(self.cleaned_data["title"], "title")

    def clean_starts_at(self) -> dt.datetime:
        return _not_in_the_past(self.cleaned_data["starts_at"])


class MeetingTimeForm(forms.Form):
    """A new time for a scheduled meeting (invitees get a calendar update)."""

    starts_at = _starts_at_field()
    duration_minutes = _length_field()

    def clean_starts_at(self) -> dt.datetime:
        return _not_in_the_past(self.cleaned_data["starts_at"])

    def clean_duration_minutes(self) -> int:
        return self.cleaned_data["duration_minutes"] or 60


# Control characters, and the bidirectional overrides that can make a name read backwards.
# Other format characters stay: some scripts need them (for example the zero-width
# non-joiner in Persian names).
_REFUSED_CATEGORIES = {"Cc", "Cs", "Co", "Cn"}
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _refused(ch: str) -> bool:
    return unicodedata.category(ch) in _REFUSED_CATEGORIES or ch in _BIDI_CONTROLS


def _one_line(value: str, what: str) -> str:
    """Names and titles go into pages, emails and calendars: one line of printable text."""
    if any(_refused(ch) for ch in value):
        raise forms.ValidationError(
            f"The {what} has a character that cannot be shown, such as a line break. "
            "Please type it again."
        )
    return " ".join(value.split())


class InviteeForm(forms.Form):
    """Who the person is. Staff set the name; the person cannot change it (rule U1)."""

    name = Text(
        what="name",
        max_length=150,
        label="Full name",
        help_text="Shown to everyone in the meeting. The person cannot change it.",
        error_messages={"max_length": NAME_TOO_LONG},
    )
    role = forms.ChoiceField(choices=Role.choices, label="They are a")
    parent_name = Text(
        max_length=150,
        required=False,
        label="Parent or carer's name",
        help_text="Only for a child under 16. Their parent or carer is asked for consent.",
        error_messages={"max_length": NAME_TOO_LONG},
    )
    parent_email = forms.EmailField(
        required=False,
        label="Parent or carer's email",
        help_text="Only for a child under 16. We send the consent request here.",
    )
    needs_supervision = forms.BooleanField(
        required=False,
        label="They need an adult with them during the meeting",
        help_text="A child under 16 always has one. When they agree to the house rules, "
        "they tell us who it is.",
    )

    def clean_name(self) -> str:
        return _one_line(self.cleaned_data["name"], "name")

    def clean_parent_name(self) -> str:
        return _one_line(self.cleaned_data["parent_name"], "name")

    def clean_parent_email(self) -> str:
        return self.cleaned_data["parent_email"].strip().lower()  # type: ignore[no-any-return]

    def clean(self) -> dict[str, Any]:
        """Rule U3: a child's parent or carer consents, so we need to reach them."""
        cleaned = super().clean() or {}
        if cleaned.get("role") == Role.CHILD:
            if not cleaned.get("parent_name") and "parent_name" not in self.errors:
                self.add_error("parent_name", "For a child under 16, give a parent or carer.")
            if not cleaned.get("parent_email") and "parent_email" not in self.errors:
                self.add_error(
                    "parent_email",
                    "For a child under 16, give their parent or carer's email address: "
                    "we ask them for consent.",
                )
        return cleaned


class InviteForm(InviteeForm):
    email = forms.EmailField(
        label="Email address",
        help_text="Their link comes here. For a child with no email address of their own, "
        "use their parent or carer's.",
    )
    different_person = forms.BooleanField(
        required=False,
        label="This is a different person who has the same name as a member of staff",
    )
    field_order = ["name", "email", "role", "parent_name", "parent_email", "needs_supervision"]

    def __init__(self, *args: Any, staff_names: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.staff_names = {_same_name(name) for name in staff_names}
        self.same_name_as_staff = False

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()  # type: ignore[no-any-return]

    def clean(self) -> dict[str, Any]:
        """An invitee named like a member of staff could pass for staff in the meeting
        and in emails (rule U1): the host is warned, and says so on purpose."""
        cleaned = super().clean()
        name = cleaned.get("name")
        if name and _same_name(name) in self.staff_names:
            self.same_name_as_staff = True
            if not cleaned.get("different_person"):
                self.add_error(
                    "name",
                    f"{name} is also the name of a member of staff, so people could take "
                    "them for staff. Check the name. If this is a different person, tick the "
                    "box that says so, further down, and send the invitation again.",
                )
        cleaned.pop("different_person", None)
        return cleaned


def _same_name(name: str) -> str:
    return " ".join(name.split()).casefold()


class HouseRulesForm(forms.Form):
    """A meeting's own house rules (rule G1): both versions, one rule per line."""

    text = Text(
        what="house rules",
        label="House rules",
        max_length=RULES_MAX,
        help_text="One rule on each line, starting with “- ”.",
        error_messages={"required": "Please write at least one rule."},
        widget=forms.Textarea(attrs={"rows": 10}),
    )
    easy_read = Text(
        what="easy-read house rules",
        label="Easy-read house rules",
        max_length=RULES_MAX,
        help_text="The same rules in short sentences and everyday words. One on each line.",
        error_messages={"required": "Please write at least one rule."},
        widget=forms.Textarea(attrs={"rows": 10}),
    )

    def clean_text(self) -> str:
        return _rules_text(self.cleaned_data["text"])

    def clean_easy_read(self) -> str:
        return _rules_text(self.cleaned_data["easy_read"])


def _rules_text(value: str) -> str:
    lines = [line.rstrip() for line in value.replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines).strip()
    if not text:
        raise forms.ValidationError("Please write at least one rule.")
    return text
