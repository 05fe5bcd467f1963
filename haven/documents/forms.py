from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from haven.documents.actions import Document
from haven.documents.filetypes import ALLOWED_IN_WORDS, KINDS, NotAllowed, check_document
from haven.documents.uploads import DOCUMENT_FIELD
from haven.invitations.models import Invitation


def limit_in_words() -> str:
    return f"{settings.HAVEN_DOCUMENT_MAX_MB} MB"


def too_large_message() -> str:
    return f"The file is larger than {limit_in_words()}. Choose a smaller file."


def recipient_label(invitation: Invitation) -> str:
    label = f"{invitation.name} ({invitation.get_role_display()}, {invitation.email})"
    if invitation.is_child and invitation.parent_email not in ("", invitation.email):
        label += f", and their parent or carer {invitation.parent_name} ({invitation.parent_email})"
    return label


class DocumentForm(forms.Form):
    """One document and the people invited to this meeting who should get it (rule S4)."""

    document = forms.FileField(
        label="Document",
        error_messages={
            "required": "Choose a file to send.",
            "empty": "The file is empty. Choose a file with something in it.",
            "invalid": "Choose a file to send.",
        },
        widget=forms.ClearableFileInput(
            attrs={"accept": ",".join(f".{extension}" for extension in KINDS)}
        ),
    )
    recipients = forms.MultipleChoiceField(
        label="Send it to",
        widget=forms.CheckboxSelectMultiple,
        help_text="Each person gets their own email. A child's parent or carer gets it too.",
        error_messages={
            "required": "Choose at least one person to send it to.",
            "invalid_choice": "Choose only people invited to this meeting.",
        },
    )

    def __init__(
        self,
        *args: object,
        invitations: list[Invitation],
        too_large: bool = False,
        body_dropped: bool = False,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.invitations = {str(invitation.pk): invitation for invitation in invitations}
        recipients = self.fields["recipients"]
        assert isinstance(recipients, forms.MultipleChoiceField)
        recipients.choices = [
            (key, recipient_label(invitation)) for key, invitation in self.invitations.items()
        ]
        document = self.fields[DOCUMENT_FIELD]
        document.help_text = (
            f"{ALLOWED_IN_WORDS}, up to {limit_in_words()}. Haven emails it and keeps no copy."
        )
        if too_large:
            # The upload was dropped as it arrived: say why, not "choose a file".
            document.error_messages["required"] = too_large_message()
        if body_dropped:
            # Nothing of the form arrived; the file's size is the only problem to report.
            recipients.required = False

    def clean_document(self) -> Document:
        upload = self.cleaned_data[DOCUMENT_FIELD]
        assert isinstance(upload, UploadedFile)
        if upload.size is not None and upload.size > settings.HAVEN_DOCUMENT_MAX_BYTES:
            raise forms.ValidationError(too_large_message())
        name = upload.name or ""
        if any(ord(character) < 32 or ord(character) == 127 for character in name):
            raise forms.ValidationError(
                "The file's name has characters Haven cannot send. Rename the file and try again."
            )
        content = upload.read()
        try:
            kind = check_document(name, content)
        except NotAllowed as refused:
            raise forms.ValidationError(str(refused)) from None
        return Document(name, content, kind)

    def chosen(self) -> list[Invitation]:
        return [self.invitations[key] for key in self.cleaned_data["recipients"]]
