from django import forms

LIFT_REASON_MAX = 1000


class LiftBanForm(forms.Form):
    reason = forms.CharField(
        label="Why are you lifting this ban?",
        help_text="Say it plainly. Other coordinators and the service manager will read it.",
        max_length=LIFT_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Please say why you are lifting this ban."},
    )
