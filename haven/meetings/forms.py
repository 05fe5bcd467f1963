import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from haven.invitations.models import Role
from haven.policy.models import MeetingType


class MeetingForm(forms.Form):
    title = forms.CharField(max_length=200, label="Title")
    meeting_type = forms.ModelChoiceField(
        queryset=MeetingType.objects.none(), label="Type of meeting", empty_label=None
    )
    starts_at = forms.DateTimeField(
        label="Date and start time",
        help_text="For example 2026-12-01 14:30",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def __init__(self, *args: Any, meeting_types: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["meeting_type"].queryset = meeting_types  # type: ignore[attr-defined]

    def clean_starts_at(self) -> dt.datetime:
        starts_at: dt.datetime = self.cleaned_data["starts_at"]
        if starts_at < timezone.now() - dt.timedelta(hours=1):
            raise forms.ValidationError("The start time is in the past. Choose a later time.")
        return starts_at


class InviteForm(forms.Form):
    name = forms.CharField(
        max_length=150,
        label="Full name",
        help_text="Shown to everyone in the meeting. The person cannot change it.",
    )
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(choices=Role.choices, label="They are a")

    def clean_role(self) -> str:
        role: str = self.cleaned_data["role"]
        if role == Role.CHILD:
            # Rule U3: a child gets no link until a parent or carer consents. Until
            # parental consent exists in Haven, a child cannot be invited at all.
            raise forms.ValidationError(
                "A child under 16 needs a parent or carer's consent before they get a link. "
                "Haven cannot record that consent yet, so invite the parent or carer instead."
            )
        return role

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()  # type: ignore[no-any-return]
