"""Drafts of the assurance documents and whether each is still current (issue 19, item 2).

A draft is the record that a document was made from certain inputs. Making a document
from the same inputs as the newest draft of its kind gives that draft again; other
inputs give a new one. A draft whose inputs differ from today's is out of date, and the
Assurance page says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from haven.accounts.models import User
from haven.assurance.inputs import Inputs, digest
from haven.assurance.models import GeneratedDraft
from haven.audit.log import Actor, record
from haven.policy.models import Organisation

Kind = GeneratedDraft.Kind


@transaction.atomic
def draft_for(organisation: Organisation, kind: str, inputs: Inputs, user: User) -> GeneratedDraft:
    """The draft this document is, recorded (and audited) if its inputs are new."""
    newest = (
        GeneratedDraft.objects.select_for_update()
        .filter(organisation=organisation, kind=kind)
        .order_by("-generated_at", "-id")
        .first()
    )
    if newest is not None and newest.inputs_sha256 == inputs.sha256:
        return newest
    draft = GeneratedDraft.objects.create(
        organisation=organisation,
        kind=kind,
        inputs_sha256=inputs.sha256,
        inputs=inputs.as_json(),
        generated_at=timezone.now(),
        generated_by=user,
    )
    record("assurance.drafted", Actor.staff(user), kind=kind, draft=draft.pk)
    return draft


@dataclass(frozen=True)
class DraftState:
    draft: GeneratedDraft
    changes: list[str]

    @property
    def current(self) -> bool:
        return not self.changes


def changes_since(then: dict[str, Any], now: Inputs) -> list[str]:
    """What differs between a draft's inputs and today's, in words."""
    changes = []
    if then.get("policy_version") != now.policy_version:
        changes.append(
            f"The policy version changed from {then.get('policy_version')} to {now.policy_version}."
        )
    old_retention: dict[str, int] = then.get("retention", {})
    changed = sorted(
        key
        for key in set(old_retention) | set(now.retention)
        if old_retention.get(key) != now.retention.get(key)
    )
    if changed:
        changes.append(f"Retention periods changed: {', '.join(_period_name(k) for k in changed)}.")
    if digest(then.get("configuration", {})) != now.configuration_sha256:
        changes.append("Haven's configuration changed.")
    if then.get("code_version") != now.code_version:
        changes.append(
            f"Haven's code changed from {then.get('code_version')} to {now.code_version}."
        )
    return changes


def _period_name(key: str) -> str:
    if key.startswith("transcript:"):
        return f"transcripts of {key.split(':', 1)[1].replace('_', ' ')} meetings"
    return key.removeprefix("retain_").replace("_", " ")


def drafts_of(organisation: Organisation, current: dict[str, Inputs]) -> list[DraftState]:
    """Every draft of the organisation, newest first, each against today's inputs."""
    drafts = GeneratedDraft.objects.filter(organisation=organisation).select_related("generated_by")
    return [DraftState(draft, changes_since(draft.inputs, current[draft.kind])) for draft in drafts]
