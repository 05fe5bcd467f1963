"""Load an organisation's policy from its data file, validated, with clear errors."""

import datetime as dt
import hashlib
import tomllib
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, model_validator

from haven.policy.models import MeetingType, Organisation, PolicyVersion

DEFAULT_POLICY_FILE = Path(__file__).parent / "data" / "sendiass-leicester-v01.toml"
REQUIRED_MEETING_TYPES = {"one_to_one", "appeal_support", "training", "youth_group"}


class PolicyFileError(Exception):
    """The policy file is missing, unreadable, or says something Haven cannot enforce."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _OrganisationData(_Strict):
    name: str = Field(min_length=1)
    slug: str = Field(pattern=r"^[a-z0-9-]+$")


class _PolicyData(_Strict):
    version: str = Field(min_length=1, max_length=20)
    review_date: dt.date
    review_date_label: str
    contact_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    staff_page_url: HttpUrl
    privacy_url: HttpUrl
    controller: str = Field(min_length=1)
    processor: str = Field(min_length=1)


_DAYS = Field(ge=1, le=3650)


class _RetentionData(_Strict):
    """How long each kind of personal data is kept (rule D3), in days unless said."""

    invitations_days: int = _DAYS
    consents_days: int = _DAYS
    access_needs_days: int = _DAYS
    end_unended_meetings_after_hours: int = Field(ge=1, le=168)
    removals_days: int = _DAYS
    lifted_bans_days: int = _DAYS
    audit_days: int = _DAYS
    audit_identities_days: int = _DAYS
    staff_sign_in_days: int = _DAYS
    sign_in_failures_days: int = _DAYS
    emails_days: int = _DAYS
    meetings_days: int = _DAYS
    house_rules_days: int = _DAYS
    destroyed_transcripts_days: int = _DAYS
    audit_notes_days: int = _DAYS
    ban_review_days: int = _DAYS

    @model_validator(mode="after")
    def _parts_not_longer_than_wholes(self) -> "_RetentionData":
        # A consent belongs to its invitation, and access needs are part of a consent.
        if not self.access_needs_days <= self.consents_days <= self.invitations_days:
            raise ValueError(
                "access_needs_days <= consents_days <= invitations_days: a consent is part "
                "of its invitation, and access needs are part of a consent"
            )
        parts = (self.invitations_days, self.house_rules_days, self.destroyed_transcripts_days)
        if max(parts) > self.meetings_days:
            raise ValueError(
                "invitations_days, house_rules_days and destroyed_transcripts_days <= "
                "meetings_days: they are part of a meeting"
            )
        if self.audit_notes_days > self.audit_days:
            raise ValueError("audit_notes_days <= audit_days: a note is part of an audit entry")
        return self


# The policy file's [retention] keys and the PolicyVersion fields that store them.
RETENTION_FIELDS = {
    "invitations_days": "retain_invitations_days",
    "consents_days": "retain_consents_days",
    "access_needs_days": "retain_access_needs_days",
    "end_unended_meetings_after_hours": "end_unended_meetings_after_hours",
    "removals_days": "retain_removals_days",
    "lifted_bans_days": "retain_lifted_bans_days",
    "audit_days": "retain_audit_days",
    "audit_identities_days": "retain_audit_identities_days",
    "staff_sign_in_days": "retain_staff_sign_in_days",
    "sign_in_failures_days": "retain_sign_in_failures_days",
    "emails_days": "retain_emails_days",
    "meetings_days": "retain_meetings_days",
    "house_rules_days": "retain_house_rules_days",
    "destroyed_transcripts_days": "retain_destroyed_transcripts_days",
    "audit_notes_days": "retain_audit_notes_days",
    "ban_review_days": "ban_review_days",
}


class _MeetingTypeData(_Strict):
    key: str = Field(pattern=r"^[a-z_]+$")
    name: str = Field(min_length=1)
    max_attendees: int = Field(ge=1, le=100)
    attendees_start_muted: bool
    transcript_retention_days: int = Field(ge=1, le=3650)
    house_rules: str = Field(min_length=1, max_length=5000)
    house_rules_easy_read: str = Field(min_length=1, max_length=5000)


class PolicyData(_Strict):
    organisation: _OrganisationData
    policy: _PolicyData
    retention: _RetentionData
    meeting_types: list[_MeetingTypeData]


def read_policy_file(path: Path) -> tuple[PolicyData, str]:
    """Parse and validate a policy file; return the data and the file's SHA-256."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyFileError(f"Cannot read the policy file {path}: {exc.strerror}.") from exc
    try:
        data = PolicyData.model_validate(tomllib.loads(raw.decode("utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyFileError(f"The policy file {path} is not valid TOML: {exc}") from exc
    except ValidationError as exc:
        raise PolicyFileError(f"The policy file {path} has mistakes:\n{exc}") from exc
    keys = [meeting_type.key for meeting_type in data.meeting_types]
    if set(keys) != REQUIRED_MEETING_TYPES or len(keys) != len(set(keys)):
        raise PolicyFileError(
            f"The policy file {path} must define each of the meeting types "
            f"{sorted(REQUIRED_MEETING_TYPES)} exactly once; it has {keys}."
        )
    return data, hashlib.sha256(raw).hexdigest()


@transaction.atomic
def load_policy(
    path: Path = DEFAULT_POLICY_FILE, *, new_organisation: bool = False
) -> PolicyVersion:
    """Store the policy in the file as a published version, or return it if already stored.

    The file's `[organisation]` slug says whose policy it is; an unknown slug makes a new
    organisation (one deployment serves several). A published version never changes:
    loading a changed file under a version that is already stored is refused. A file
    naming an existing slug with another organisation's name is refused (a copied file
    whose slug was not changed), and so is any existing slug with `new_organisation`.
    """
    data, digest = read_policy_file(path)
    slug, name = data.organisation.slug, data.organisation.name
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        organisation = Organisation.objects.create(slug=slug, name=name)
    elif new_organisation:
        raise PolicyFileError(
            f"There is already an organisation {slug!r} ({organisation.name}). "
            "A new organisation needs a slug of its own in the file's [organisation]."
        )
    elif organisation.name != name:
        raise PolicyFileError(
            f"The organisation {slug!r} is {organisation.name!r}, but the file names {name!r}. "
            "Another organisation needs a slug of its own in the file's [organisation]."
        )
    existing = PolicyVersion.objects.filter(
        organisation=organisation, version=data.policy.version
    ).first()
    if existing is not None:
        if existing.source_sha256 != digest:
            raise PolicyFileError(
                f"Policy version {data.policy.version} is already published and a published "
                f"version never changes. Give the changed policy a new version number."
            )
        return existing
    return _store(organisation, data, digest)


def _store(organisation: Organisation, data: PolicyData, digest: str) -> PolicyVersion:
    policy = PolicyVersion.objects.create(
        organisation=organisation,
        version=data.policy.version,
        review_date=data.policy.review_date,
        review_date_label=data.policy.review_date_label,
        contact_email=str(data.policy.contact_email),
        staff_page_url=str(data.policy.staff_page_url),
        privacy_url=str(data.policy.privacy_url),
        controller=data.policy.controller,
        processor=data.policy.processor,
        source_sha256=digest,
        published_at=timezone.now(),
        **{field: getattr(data.retention, key) for key, field in RETENTION_FIELDS.items()},
    )
    for meeting_type in data.meeting_types:
        MeetingType.objects.create(
            policy=policy,
            key=meeting_type.key,
            name=meeting_type.name,
            max_attendees=meeting_type.max_attendees,
            attendees_start_muted=meeting_type.attendees_start_muted,
            transcript_retention_days=meeting_type.transcript_retention_days,
            house_rules=meeting_type.house_rules.strip(),
            house_rules_easy_read=meeting_type.house_rules_easy_read.strip(),
        )
    return policy
