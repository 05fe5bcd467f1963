from typing import Any

from django import forms

from haven.consent.actions import Answers
from haven.invitations.models import Invitation
from haven.limits import Text

LONG_TEXT = 1000


class ConsentForm(forms.Form):
    """Agree to the house rules (G1), name a supervising adult (U3, U5), and tell the host
    about access needs and anything to show on screen (V2)."""

    rules_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    supervising_adult = Text(
        max_length=150,
        required=False,
        what="name",
    )
    need_interpreter = forms.BooleanField(required=False, label="An interpreter")
    interpreter_language = Text(
        what="language",
        max_length=100,
        required=False,
        label="Which language or signing?",
        help_text="For example Polish, or British Sign Language.",
    )
    need_captions = forms.BooleanField(required=False, label="Captions (words on screen)")
    need_easy_read = forms.BooleanField(required=False, label="Easy-read information")
    need_breaks = forms.BooleanField(required=False, label="Breaks during the meeting")
    other_needs = Text(
        what="answer",
        max_length=LONG_TEXT,
        required=False,
        label="Anything else that would help",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    show_on_screen = Text(
        what="answer",
        max_length=LONG_TEXT,
        required=False,
        label="Is there anything you would like the host to show on screen?",
        help_text="For example a letter or a report. Only the host can share their screen, "
        "so tell them here before the meeting.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    agree = forms.BooleanField(
        error_messages={"required": "Please tick the box to agree to the house rules."}
    )

    def __init__(self, *args: Any, invitation: Invitation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invitation = invitation
        self._word_the_questions(invitation)

    def _word_the_questions(self, invitation: Invitation) -> None:
        adult = self.fields["supervising_adult"]
        agree = self.fields["agree"]
        if invitation.is_child:
            adult.label = f"Who will be with {invitation.name} during the meeting?"
            adult.help_text = "The full name of the adult who will supervise them."
            agree.label = (
                f"I agree to the house rules, and I give consent for {invitation.name} "
                "to join this meeting"
            )
        else:
            adult.label = "Who will be with you during the meeting?"
            adult.help_text = "The full name of the adult who will support you."
            agree.label = "I have read the house rules and I agree to them"
        if invitation.needs_supervising_adult:
            adult.required = True
            adult.error_messages["required"] = "Please give the name of the adult."
        else:
            del self.fields["supervising_adult"]

    def clean_interpreter_language(self) -> str:
        language: str = self.cleaned_data["interpreter_language"].strip()
        if self.data.get(self.add_prefix("need_interpreter")) and not language:
            raise forms.ValidationError("Please say which language you need.")
        return language

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "agree" in self.errors:  # the checkbox's error is read with it
            self.fields["agree"].widget.attrs["aria-describedby"] = "agree-error"
        return cleaned

    def answers(self) -> Answers:
        data = self.cleaned_data
        return Answers(
            supervising_adult=data.get("supervising_adult", ""),
            need_interpreter=data["need_interpreter"],
            interpreter_language=data["interpreter_language"],
            need_captions=data["need_captions"],
            need_easy_read=data["need_easy_read"],
            need_breaks=data["need_breaks"],
            other_needs=data["other_needs"],
            show_on_screen=data["show_on_screen"],
        )
