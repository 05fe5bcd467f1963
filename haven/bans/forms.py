from django import forms

from haven.limits import Text

LIFT_REASON_MAX = 1000


class LiftBanForm(forms.Form):
    reason = Text(
        what="reason",
        label="Why are you lifting this ban?",
        help_text="Say it plainly. Other coordinators and the service manager will read it.",
        max_length=LIFT_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Please say why you are lifting this ban."},
    )


class ReviewBanForm(forms.Form):
    """Keep a ban past its review date: a new date, and why (rule S8)."""

    review_on = forms.DateField(
        label="Review the ban again by",
        help_text="For example 2027-06-30. If nobody keeps it by then, it ends by itself.",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={"required": "Choose the date to review the ban by."},
    )
    reason = Text(
        what="reason",
        label="Why should the ban stay?",
        help_text="Say it plainly. Other coordinators and the service manager will read it.",
        max_length=LIFT_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Please say why the ban should stay."},
    )
