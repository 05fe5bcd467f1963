"""Subject access (rule D4): everything Haven holds about one email address, from the
registry, within the coordinator's organisation."""

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from haven.accounts.models import User
from haven.audit.log import Actor, notes_of, pseudonym, readable_details
from haven.audit.models import AuditEvent, AuditIdentity
from haven.invitations.models import Invitation
from haven.meetings.models import Meeting
from haven.records.models import Transcript
from haven.records.subject import Author, own_lines
from haven.subjects.registry import AUDIT_KEPT, HOLDINGS, PERSONAL, Holding

FORMAT = "haven-subject-access/1"


@dataclass
class Found:
    holding: Holding
    rows: list[dict[str, Any]]
    kept: list[str]  # for each row erasure would keep, why

    @property
    def labels(self) -> dict[str, str]:
        personal = PERSONAL.get(self.holding.model, {})
        return {
            name: personal[name].what if name in personal else name.replace("_", " ").capitalize()
            for name in (*self.holding.fields, *self.holding.context)
        }

    def labelled_rows(self) -> list[list[tuple[str, Any]]]:
        labels = self.labels
        return [[(labels[name], value) for name, value in row.items()] for row in self.rows]


@dataclass
class Report:
    address: str
    person: str  # the pseudonym the audit log uses for this address
    found: list[Found] = field(default_factory=list)
    transcript_lines: list[dict[str, Any]] = field(default_factory=list)
    audit_events: list[dict[str, Any]] = field(default_factory=list)
    identity_known: bool = False
    generated_at: dt.datetime = field(default_factory=timezone.now)

    @property
    def holds_anything(self) -> bool:
        """Anything that names the person (a pseudonym with no identity does not)."""
        return bool(self.found or self.transcript_lines or self.identity_known)

    def kept(self) -> list[dict[str, Any]]:
        """What erasure keeps (or kept), how much, and why."""
        reasons: dict[tuple[str, str], int] = {}
        for each in self.found:
            for why in each.kept:
                key = (each.holding.title, why)
                reasons[key] = reasons.get(key, 0) + 1
        kept = [{"what": what, "count": n, "why": why} for (what, why), n in reasons.items()]
        if self.audit_events:
            kept.append(
                {
                    "what": "Audit log entries, under a pseudonym",
                    "count": len(self.audit_events),
                    "why": AUDIT_KEPT,
                }
            )
        return kept

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "email": self.address,
            "generated_at": self.generated_at.isoformat(),
            "holds_anything": self.holds_anything,
            "data": {
                each.holding.key: {
                    "what": each.holding.title,
                    "found_by": each.holding.found_by,
                    "rows": each.rows,
                }
                for each in self.found
            },
            "transcript_lines": self.transcript_lines,
            "audit_log": {"pseudonym": self.person, "entries": self.audit_events},
            "kept_on_erasure": self.kept(),
        }


def normalise(address: str) -> str:
    return address.strip().lower()


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Meeting):
        return f"{value.title} ({value.starts_at:%Y-%m-%d %H:%M})"
    if isinstance(value, Invitation):
        return f"Invitation to {_value(value.meeting)}"
    if isinstance(value, Model):
        return str(value)
    return value


def _row(holding: Holding, row: Model) -> dict[str, Any]:
    return {name: _value(getattr(row, name)) for name in (*holding.fields, *holding.context)}


def _why_kept(holding: Holding, row: Model) -> str:
    if holding.keep is not None:
        return holding.keep(row)
    return ""


def find(organisation_id: int, address: str) -> list[tuple[Holding, list[Model]]]:
    """Every row the registry finds for the address, holding by holding."""
    address = normalise(address)
    found = []
    for holding in HOLDINGS:
        rows = list(holding.find(organisation_id, address).order_by("pk"))
        if rows:
            found.append((holding, rows))
    return found


def authors(organisation_id: int, address: str) -> dict[int, Author]:
    """How the person appears in each meeting's transcript, by meeting id."""
    person = pseudonym(address)
    names: dict[int, set[str]] = {}
    for meeting_id, name in Invitation.objects.filter(
        meeting__organisation_id=organisation_id, email__iexact=address
    ).values_list("meeting_id", "name"):
        names.setdefault(meeting_id, set()).add(name)
    found = {m: Author(person, frozenset(n)) for m, n in names.items()}
    for meeting_id in Meeting.objects.filter(
        organisation_id=organisation_id, host__email__iexact=address
    ).values_list("id", flat=True):
        found[meeting_id] = Author(person, frozenset(), host=True)
    return found


def audit_events(organisation_id: int, person: str) -> QuerySet[AuditEvent]:
    """Entries that name the pseudonym, in the organisation's part of the log."""
    names = Q(actor_ref=person) | Q(subject_ref=person) | Q(details__person=person)
    mine = Q(actor_user__organisation_id=organisation_id) | Q(
        meeting__organisation_id=organisation_id
    )
    # Subject access's own entries name the pseudonym of whoever was looked up, known or
    # not: they record the request, and are not data about the person.
    requests = Q(action__startswith="subject.")
    return AuditEvent.objects.filter(names & mine).exclude(requests).select_related("meeting")


def build(staff: User, address: str) -> Report:
    """Everything held about the address; transcript reads are audited by haven/records."""
    address = normalise(address)
    org = staff.organisation_id
    report = Report(address=address, person=pseudonym(address))
    for holding, rows in find(org, address):
        kept = []
        for row in rows:
            why = _why_kept(holding, row)
            if why:
                kept.append(why)
        report.found.append(Found(holding, [_row(holding, row) for row in rows], kept))
    actor = Actor.staff(staff)
    for meeting_id, author in authors(org, address).items():
        transcript = Transcript.objects.filter(meeting_id=meeting_id).select_related("meeting")
        for kept_transcript in transcript:
            for line in own_lines(kept_transcript, actor, author):
                report.transcript_lines.append({"meeting": _value(kept_transcript.meeting), **line})
    entries = list(audit_events(org, report.person).order_by("id"))
    notes = notes_of(entries)
    for event in entries:
        report.audit_events.append(
            {
                "at": event.at.isoformat(),
                "action": event.action,
                "as": "actor" if event.actor_ref == report.person else "subject",
                "meeting": _value(event.meeting) if event.meeting else event.meeting_ref,
                "details": readable_details(event, notes),
            }
        )
    # The identity row is shared by organisations: it counts here only beside entries here.
    report.identity_known = (
        bool(report.audit_events) and AuditIdentity.objects.filter(ref=report.person).exists()
    )
    return report
