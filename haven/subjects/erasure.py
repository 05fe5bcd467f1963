"""Erasure (rule D4): delete, blank or pseudonymise what the registry finds for one email
address, except what must be kept; the audit log keeps its pseudonym, and the identity
row that says who the pseudonym is goes."""

from dataclasses import dataclass, field

from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone

from haven.accounts.models import User
from haven.accounts.permissions import Permission, has_permission
from haven.audit.log import Actor, pseudonym, record
from haven.audit.models import AuditIdentity
from haven.consent.models import Consent
from haven.consent.views import SESSION_CONSENT_DONE
from haven.invitations.models import Invitation
from haven.records.models import Transcript
from haven.records.subject import redact
from haven.room.access import SESSION_INVITATION_KEY
from haven.room.models import Participant
from haven.subjects.access import authors, normalise
from haven.subjects.registry import HOLDINGS, Erasure, Holding

ERASED = "Erased"

# Rows that point to others go first: chat before the participants it names, consents
# and requests on other people's invitations before the person's own invitations.
ORDER = (
    "chat",
    "participants",
    "consents",
    "consent_requests",
    "children_invited",
    "invitations",
    "removals",
    "bans",
    "audit_notes",
    "admin_log",
)


class ErasureError(Exception):
    """Erasure was refused; the message says why in plain words."""


@dataclass
class Outcome:
    erased: dict[str, int] = field(default_factory=dict)  # holding title: rows changed
    transcript_lines: int = 0
    sessions: int = 0
    identity_forgotten: bool = False


def _holding(key: str) -> Holding:
    return next(h for h in HOLDINGS if h.key == key)


def _erase_row(holding: Holding, row: Model) -> None:
    if holding.erasure == Erasure.DELETE:
        row.delete()
        return
    changed = list(holding.blank)
    # A parent or carer who agreed for a child is often also the named supervising adult.
    if isinstance(row, Consent) and row.supervising_adult.strip().lower() == (
        row.given_by_name.strip().lower()
    ):
        row.supervising_adult = ERASED
        changed.append("supervising_adult")
    for name in holding.blank:
        # An address is emptied; a name says "Erased".
        blank = "" if holding.erasure == Erasure.BLANK or "email" in name else ERASED
        setattr(row, name, blank)
    row.save(update_fields=changed)


def _sessions(invitation_ids: set[int], consent_ids: set[int]) -> int:
    """Attendee sessions that name the person's invitations or consents."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        data = session.get_decoded()
        consent_done = data.get(SESSION_CONSENT_DONE) or [None]
        if data.get(SESSION_INVITATION_KEY) in invitation_ids or consent_done[0] in consent_ids:
            session.delete()
            ended += 1
    return ended


def _still_named(address: str) -> bool:
    """Does anything left in Haven, in any organisation, still name the address?"""
    return (
        User.objects.filter(email__iexact=address).exists()
        or Invitation.objects.filter(
            Q(email__iexact=address) | Q(parent_email__iexact=address)
        ).exists()
    )


@transaction.atomic
def do_erase(staff: User, address: str, reason: str) -> Outcome:
    """Erase what Haven holds about the address in the staff member's organisation."""
    if not has_permission(staff, Permission.ERASE_PERSONAL_DATA):
        raise ErasureError("You cannot do that.")
    reason = reason.strip()
    if not reason:
        raise ErasureError("Please say why you are erasing this person's data.")
    address = normalise(address)
    org = staff.organisation_id
    live = (Participant.State.WAITING, Participant.State.ADMITTED)
    if Participant.objects.filter(
        meeting__organisation_id=org, invitation__email__iexact=address, state__in=live
    ).exists():
        raise ErasureError(
            "This person is in a meeting or its waiting room now. Erase their data after "
            "they have left."
        )
    actor = Actor.staff(staff)
    outcome = Outcome()
    # Transcripts first: the person's names in each meeting come from their invitations.
    for meeting_id, author in authors(org, address).items():
        if author.host:
            continue  # a member of staff's lines are kept with their account
        for transcript in Transcript.objects.filter(meeting_id=meeting_id):
            outcome.transcript_lines += redact(transcript, actor, author)
    own = Invitation.objects.filter(meeting__organisation_id=org, email__iexact=address)
    invitation_ids = set(own.values_list("id", flat=True))
    consent_ids = set(
        Consent.objects.filter(
            Q(invitation__in=own)
            | Q(invitation__meeting__organisation_id=org, given_by_email__iexact=address)
        ).values_list("id", flat=True)
    )
    outcome.sessions = _sessions(invitation_ids, consent_ids)
    for key in ORDER:
        holding = _holding(key)
        changed = 0
        for row in holding.find(org, address).order_by("pk"):
            if holding.keep is not None and holding.keep(row):
                continue
            _erase_row(holding, row)
            changed += 1
        if changed:
            outcome.erased[holding.title] = outcome.erased.get(holding.title, 0) + changed
    person = pseudonym(address)
    if not _still_named(address):
        outcome.identity_forgotten = AuditIdentity.objects.filter(ref=person).delete()[0] > 0
    record(
        "subject.erased",
        actor,
        person=person,
        # The coordinator's words, about the erasure: not about the person (a subject
        # access afterwards finds nothing), destroyed by retention.
        notes={"reason": reason},
        rows=sum(outcome.erased.values()),
        transcript_lines=outcome.transcript_lines,
        sessions=outcome.sessions,
        identity_forgotten=outcome.identity_forgotten,
    )
    return outcome
