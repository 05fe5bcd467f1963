"""The policy draft form: the policy's own fields, and each meeting type's defaults (P1, P3)."""

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from haven.limits import Text
from haven.policy.loader import RETENTION_FIELDS
from haven.policy.models import Organisation

VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$"


def _days(label: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=1,
        max_value=3650,
        help_text="From 1 to 3650 days. Then it is destroyed automatically (D3).",
    )


def _https(value: str) -> None:
    if not value.startswith("https://"):
        raise forms.ValidationError("Use an address that starts with https://")


class PolicyDraftForm(forms.Form):
    version = forms.RegexField(
        label="Version",
        regex=VERSION_PATTERN,
        max_length=20,
        help_text="For example V.02. Letters, numbers, dots and dashes.",
        error_messages={"invalid": "Use letters, numbers, dots and dashes, for example V.02."},
    )
    review_date = forms.DateField(
        label="Review date",
        help_text="When the policy must be looked at again. For example 2027-09-30",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
    )
    contact_email = forms.EmailField(
        label="Contact email address", help_text="Shown to attendees on every page (D2)."
    )
    controller = Text(
        what="name", label="Data controller", max_length=200, help_text="The organisation (D1)."
    )
    processor = Text(
        what="name",
        label="Data processor",
        max_length=200,
        help_text="Whoever runs this Haven (D1).",
    )
    privacy_url = forms.URLField(
        label="Privacy policy address", validators=[_https], assume_scheme="https"
    )
    staff_page_url = forms.URLField(
        label="Staff page address",
        help_text="The public page listing your staff: the host's staff mark links here (U1).",
        validators=[_https],
        assume_scheme="https",
    )

    # How long each kind of personal data is kept (rule D3).
    retain_invitations_days = _days("Invitations: days after the meeting")
    retain_consents_days = _days("Agreements to the house rules: days after the meeting")
    retain_access_needs_days = _days("Access needs: days after the meeting")
    end_unended_meetings_after_hours = forms.IntegerField(
        label="A meeting nobody ended is ended this many hours after its planned end",
        min_value=1,
        max_value=168,
        help_text="From 1 to 168 hours. Its chat is then kept as the transcript.",
    )
    retain_removals_days = _days("Removals from a meeting: days")
    retain_lifted_bans_days = _days("Bans: days after they are lifted")
    retain_audit_days = _days("Audit log: days")
    retain_audit_identities_days = _days(
        "Who a made-up name in the audit log is: days after the last event about them"
    )
    retain_staff_sign_in_days = _days("Staff sign-in records: days after last use")
    retain_sign_in_failures_days = _days("Wrong passwords and codes: days")
    retain_emails_days = _days("Saved copies of emails: days")
    retain_meetings_days = _days("Meetings: days after they ended")
    retain_house_rules_days = _days("Earlier versions of a meeting's house rules: days after it")
    retain_destroyed_transcripts_days = _days(
        "The record that a transcript was destroyed: days after"
    )
    retain_audit_notes_days = _days("Words written into the audit log (reasons): days")
    ban_review_days = forms.IntegerField(
        label="A ban is reviewed, or ends, this many days after it is made",
        min_value=1,
        max_value=3650,
        help_text="From 1 to 3650 days. A host may choose another date when banning (S8).",
    )

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisation = organisation

    def clean_version(self) -> str:
        version = str(self.cleaned_data["version"]).strip()
        published = self.organisation.policy_versions.filter(version__iexact=version)
        if published.exists():
            raise forms.ValidationError(
                f"Version {version} is already published, and a published version never "
                "changes. Give this draft a new version number."
            )
        return version

    def clean_review_date(self) -> dt.date:
        review_date: dt.date = self.cleaned_data["review_date"]
        if review_date <= timezone.localdate():
            raise forms.ValidationError(
                "The review date must be after today: a policy whose review date has "
                "passed is overdue as soon as it is published."
            )
        return review_date

    def retention_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in RETENTION_FIELDS.values()]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        needs, consents, invitations = (
            data.get("retain_access_needs_days"),
            data.get("retain_consents_days"),
            data.get("retain_invitations_days"),
        )
        if needs and consents and needs > consents:
            self.add_error(
                "retain_access_needs_days",
                "Access needs are part of an agreement: keep them no longer than agreements.",
            )
        if consents and invitations and consents > invitations:
            self.add_error(
                "retain_consents_days",
                "An agreement is part of its invitation: keep it no longer than invitations.",
            )
        meetings = data.get("retain_meetings_days")
        for part in (
            "retain_invitations_days",
            "retain_house_rules_days",
            "retain_destroyed_transcripts_days",
        ):
            if meetings and data.get(part) and data[part] > meetings:
                self.add_error(part, "This is part of a meeting: keep it no longer than meetings.")
        if data.get("privacy_url") and data.get("privacy_url") == data.get("staff_page_url"):
            self.add_error(
                "staff_page_url",
                "The staff page and the privacy policy cannot be the same page.",
            )
        return data


class MeetingTypeDraftForm(forms.Form):
    """One meeting type's defaults; the type itself (its key and name) is fixed (P3)."""

    max_attendees = forms.IntegerField(
        label="Most attendees",
        min_value=1,
        max_value=100,
        help_text="Not counting the host. From 1 to 100.",
    )
    attendees_start_muted = forms.BooleanField(
        label="Attendees start with microphone and camera off", required=False
    )
    transcript_retention_days = forms.IntegerField(
        label="Keep a kept chat transcript for (days)",
        min_value=1,
        max_value=3650,
        help_text="From 1 to 3650 days. Then it is destroyed automatically (S6, D3).",
    )
    house_rules = forms.CharField(
        label="House rules template",
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="One rule per line. Hosts start from this text (G1).",
    )

    house_rules_easy_read = forms.CharField(
        label="Easy-read house rules template",
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="The same rules in short sentences and everyday words. One per line.",
        required=False,
    )

    def clean_house_rules(self) -> str:
        rules = str(self.cleaned_data["house_rules"]).strip()
        if not rules:
            raise forms.ValidationError("Write the house rules for this type of meeting.")
        return rules

    def clean_house_rules_easy_read(self) -> str:
        rules = str(self.cleaned_data["house_rules_easy_read"]).strip()
        if not rules:
            raise forms.ValidationError("Write the easy-read house rules for this type of meeting.")
        return rules
