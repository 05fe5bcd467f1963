"""The four documents of the assurance pack, each made now from live data (issue 19).

`make_document` gives what a document's template shows and the inputs it was made from;
the views record the draft (haven/assurance/drafts.py) and render it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from haven.assurance import accessibility, documents, rules, security
from haven.assurance.inputs import Inputs, inputs_for
from haven.assurance.models import GeneratedDraft
from haven.policy.models import Organisation

Kind = GeneratedDraft.Kind

SLUGS = {
    Kind.DPIA: "dpia",
    Kind.RECORD: "record-of-processing",
    Kind.ACCESSIBILITY: "accessibility-statement",
    Kind.SECURITY: "security-summary",
}
KINDS_BY_SLUG = {slug: kind for kind, slug in SLUGS.items()}
TITLES = {
    Kind.DPIA: "Data protection impact assessment: draft",
    Kind.RECORD: "Record of processing activities",
    Kind.ACCESSIBILITY: "Accessibility statement",
    Kind.SECURITY: "Security summary",
}
PURPOSES = {
    Kind.DPIA: "A draft of the data protection impact assessment (DPIA) the ICO's "
    "Children's code asks for, in the sections of the ICO's DPIA template.",
    Kind.RECORD: "The record of processing activities UK GDPR Article 30 asks the "
    "controller to keep, for video meetings with Haven.",
    Kind.ACCESSIBILITY: "An accessibility statement in the form of GOV.UK's model "
    "statement (Public Sector Bodies Accessibility Regulations 2018, WCAG 2.2 AA).",
    Kind.SECURITY: "How this Haven is configured and what it checks, for security "
    "questionnaires (for example the NHS Data Security and Protection Toolkit or Cyber "
    "Essentials).",
}


@dataclass(frozen=True)
class Document:
    kind: str
    title: str
    purpose: str
    template: str
    organisation: Organisation
    inputs: Inputs
    made_at: Any
    facts: dict[str, Any]

    @property
    def slug(self) -> str:
        return SLUGS[Kind(self.kind)]

    @property
    def filename(self) -> str:
        return f"haven-{self.slug}-{self.inputs.policy_version}-{self.made_at:%Y-%m-%d}.html"


def _common(organisation: Organisation) -> dict[str, Any]:
    policy = organisation.policy_in_force()
    return {
        "policy": policy,
        "retention_interval": settings.HAVEN_RETENTION_INTERVAL_MINUTES,
        "organisation": organisation,
        "notice_url": settings.BASE_URL + policy.notice_path(),
    }


def _dpia(organisation: Organisation) -> dict[str, Any]:
    policy = organisation.policy_in_force()
    return {
        "meeting_types": list(policy.meeting_types.all()),
        "periods": documents.retention_periods(policy),
        "personal_data": documents.personal_data(),
        "roles": documents.role_access(organisation),
        "activity": documents.activity(organisation),
        "subjects": documents.subject_roles(),
        "rules": rules.rule_evidence(),
        "tests_installed": rules.tests_installed(),
    }


def _record(organisation: Organisation) -> dict[str, Any]:
    policy = organisation.policy_in_force()
    return {
        "periods": documents.retention_periods(policy),
        "personal_data": documents.personal_data(),
        "roles": documents.role_access(organisation),
        "subjects": documents.subject_roles(),
        "email_backend": settings.EMAIL_BACKEND,
        "email_host": settings.EMAIL_HOST if "smtp" in settings.EMAIL_BACKEND else "",
        "security_url": settings.BASE_URL
        + reverse("assurance:document", args=[SLUGS[Kind.SECURITY]]),
    }


def _accessibility(organisation: Organisation) -> dict[str, Any]:
    return {"axe": accessibility.last_run()}


def _security(organisation: Organisation) -> dict[str, Any]:
    check, chain = security.audit_chain()
    return {
        "transport": security.transport(),
        "authentication": security.authentication(),
        "media": security.media(),
        "at_rest": security.data_at_rest(),
        "chain": chain,
        "chain_check": check,
        "deploy_checks": security.deploy_checks(),
        "silenced": list(settings.SILENCED_SYSTEM_CHECKS),
    }


BUILDERS: dict[str, Callable[[Organisation], dict[str, Any]]] = {
    Kind.DPIA: _dpia,
    Kind.RECORD: _record,
    Kind.ACCESSIBILITY: _accessibility,
    Kind.SECURITY: _security,
}


def extra_inputs(kind: str) -> dict[str, Any]:
    """What a document depends on besides the policy, configuration and code."""
    if kind == Kind.ACCESSIBILITY:
        run = accessibility.last_run().run
        return {"axe_run": run.run if run else ""}
    return {}


def current_inputs(organisation: Organisation) -> dict[str, Inputs]:
    return {kind: inputs_for(organisation, extra_inputs(kind)) for kind in Kind}


def make_document(organisation: Organisation, kind: str) -> Document:
    """One document of the pack, made now."""
    facts = {**_common(organisation), **BUILDERS[kind](organisation)}
    return Document(
        kind,
        TITLES[Kind(kind)],
        PURPOSES[Kind(kind)],
        f"assurance/_{SLUGS[Kind(kind)]}.html",
        organisation,
        inputs_for(organisation, extra_inputs(kind)),
        timezone.now(),
        facts,
    )
