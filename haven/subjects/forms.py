from django import forms

from haven.limits import Text

REASON_MAX = 1000


class AddressForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        help_text="The address the person gave us, or that staff used to invite them.",
        max_length=254,
        error_messages={
            "required": "Please enter an email address.",
            "invalid": "Please enter an email address, like name@example.org.",
        },
    )


class EraseForm(AddressForm):
    reason = Text(
        what="reason",
        label="Why are you erasing this person's data?",
        help_text=(
            "For example: 'Erasure request received 3 May, reference 123'. This goes in the "
            "audit log, which is kept: do not write the person's name or address here."
        ),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Please say why you are erasing this person's data."},
    )
    confirm = forms.BooleanField(
        label="I understand that this cannot be undone.",
        error_messages={"required": "Please confirm that you understand this cannot be undone."},
    )
