"""Writes to the policy: drafts in pages, and publishing them as a new version (P1, P3)."""

import hashlib
import json
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from haven.accounts.models import User
from haven.accounts.permissions import Permission, has_permission
from haven.audit.log import Actor, record
from haven.policy.loader import RETENTION_FIELDS
from haven.policy.models import MeetingType, MeetingTypeDraft, PolicyDraft, PolicyVersion

DRAFT_POLICY_FIELDS = (
    "version",
    "review_date",
    "contact_email",
    "controller",
    "processor",
    "privacy_url",
    "staff_page_url",
    *RETENTION_FIELDS.values(),
)
DRAFT_TYPE_FIELDS = (
    "max_attendees",
    "attendees_start_muted",
    "transcript_retention_days",
    "house_rules",
    "house_rules_easy_read",
)


class PolicyError(Exception):
    """The draft cannot be saved or published; `errors` maps field names to plain words."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


def _require(actor: User, draft: PolicyDraft | None = None) -> None:
    if not has_permission(actor, Permission.MANAGE_POLICY):
        raise PolicyError("You cannot change the policy.")
    if draft is not None and draft.organisation_id != actor.organisation_id:
        raise PolicyError("You cannot change the policy.")


def _copy_fields(source: models.Model) -> dict[str, Any]:
    """Every stored field but the id: what a new version inherits unless the draft says."""
    return {
        field.attname: getattr(source, field.attname)
        for field in source._meta.concrete_fields
        if not field.primary_key
    }


@transaction.atomic
def do_save_draft(
    actor: User,
    draft: PolicyDraft | None,
    policy_data: dict[str, Any],
    types_data: dict[str, dict[str, Any]],
) -> PolicyDraft:
    """Create or update a draft from validated form data. Publishes nothing."""
    _require(actor, draft)
    if draft is None:
        base = actor.organisation.policy_in_force()
        draft = PolicyDraft(organisation=actor.organisation, based_on=base, created_by=actor)
    elif draft.published_as_id is not None:
        raise PolicyError("This draft is published already; start a new draft.")
    for name in DRAFT_POLICY_FIELDS:
        setattr(draft, name, policy_data[name])
    draft.save()
    for meeting_type in draft.based_on.meeting_types.all():
        values = {name: types_data[meeting_type.key][name] for name in DRAFT_TYPE_FIELDS}
        MeetingTypeDraft.objects.update_or_create(
            draft=draft,
            key=meeting_type.key,
            defaults={"name": meeting_type.name, **values},
        )
    record("policy.draft_saved", Actor.staff(actor), draft_id=draft.pk, version=draft.version)
    return draft


def _publish_problems(draft: PolicyDraft) -> dict[str, str]:
    """Checks that may have changed since the draft was saved."""
    problems = {}
    if draft.organisation.policy_versions.filter(version__iexact=draft.version).exists():
        problems["version"] = (
            f"Version {draft.version} is already published. Give this draft a new version number."
        )
    if draft.review_date <= timezone.localdate():
        problems["review_date"] = "The review date has passed. Choose a date after today."
    return problems


def _digest(draft: PolicyDraft) -> str:
    content = {name: str(getattr(draft, name)) for name in DRAFT_POLICY_FIELDS}
    content["meeting_types"] = [  # type: ignore[assignment]
        {name: str(getattr(t, name)) for name in ("key", "name", *DRAFT_TYPE_FIELDS)}
        for t in draft.meeting_types.all()
    ]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


@transaction.atomic
def do_publish_draft(actor: User, draft: PolicyDraft) -> PolicyVersion:
    """Publish the draft as a new version; from now on new meetings record it (P1).

    The version in force and its meeting types are copied, so anything a draft does not
    set (fields other parts of Haven keep on the policy) carries over unchanged.
    """
    _require(actor, draft)
    draft = PolicyDraft.objects.select_for_update(no_key=True).get(pk=draft.pk)
    if draft.published_as_id is not None:
        raise PolicyError("This draft is published already.")
    problems = _publish_problems(draft)
    if problems:
        raise PolicyError("The draft cannot be published yet.", problems)
    base = draft.organisation.policy_in_force()
    values: dict[str, Any] = _copy_fields(base)
    values.update({name: getattr(draft, name) for name in DRAFT_POLICY_FIELDS})
    values.update(
        review_date_label=draft.review_date.strftime("%B %Y"),
        source_sha256=_digest(draft),
        published_at=timezone.now(),
    )
    version = PolicyVersion.objects.create(**values)
    for type_draft in draft.meeting_types.all():
        inherited = base.meeting_types.filter(key=type_draft.key).first()
        type_values: dict[str, Any] = (
            _copy_fields(inherited) if inherited else {"key": type_draft.key}
        )
        type_values.update({name: getattr(type_draft, name) for name in DRAFT_TYPE_FIELDS})
        type_values.update(policy_id=version.pk, name=type_draft.name)
        MeetingType.objects.create(**type_values)
    draft.published_as = version
    draft.save(update_fields=["published_as"])
    record(
        "policy.published",
        Actor.staff(actor),
        version=version.version,
        previous_version=base.version,
        review_date=version.review_date.isoformat(),
        draft_id=draft.pk,
    )
    return version


@transaction.atomic
def do_discard_draft(actor: User, draft: PolicyDraft) -> None:
    _require(actor, draft)
    if draft.published_as_id is not None:
        raise PolicyError("A published draft is part of the record and cannot be discarded.")
    record("policy.draft_discarded", Actor.staff(actor), draft_id=draft.pk, version=draft.version)
    draft.delete()
