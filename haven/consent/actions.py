"""Asking for consent, and recording it (rules G1, U3, U4, U5, V2)."""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from haven.audit.log import Actor, record
from haven.consent.models import Consent, ConsentRequest
from haven.invitations import emails, links
from haven.invitations import secrets as link_secrets
from haven.invitations.models import Invitation
from haven.meetings.models import HouseRules, Meeting


@dataclass(frozen=True)
class Problem:
    """Why a consent link cannot be used, in words for the person holding it."""

    code: str
    heading: str
    detail: str


class ConsentError(Exception):
    """Consent could not be recorded; the message says why in plain words."""

    def __init__(self, message: str, problem: Problem | None = None) -> None:
        super().__init__(message)
        self.problem = problem


def request_consent(invitation: Invitation, reason: str, actor: Actor) -> ConsentRequest:
    """Email a new single-use consent link; any earlier open one stops working.

    Call inside the caller's atomic block: the email goes only if it commits.
    """
    now = timezone.now()
    invitation.consent_requests.filter(used_at__isnull=True, superseded_at__isnull=True).update(
        superseded_at=now
    )
    token = link_secrets.new_link_token()
    rules = invitation.meeting.current_house_rules()
    request = ConsentRequest.objects.create(
        invitation=invitation,
        token_sha256=link_secrets.hash_link_token(token),
        house_rules=rules,
        sent_to=invitation.consent_email,
        reason=reason,
    )
    record(
        "consent.requested",
        actor,
        meeting=invitation.meeting,
        invitation=invitation,
        reason=reason,
        rules_version=rules.version,
        sent_to="parent_carer" if invitation.is_child else "invitee",
    )
    link = settings.BASE_URL + reverse("consent:give", kwargs={"token": token})
    # "Agree again" only to someone who agreed before; anyone else gets a first request.
    again = reason != ConsentRequest.Reason.INVITED and (
        invitation.consents.filter(given_by_email=invitation.consent_email).exists()
    )
    transaction.on_commit(lambda: emails.send_consent_request(invitation, rules, link, again=again))
    return request


def find_request(token: str) -> ConsentRequest | None:
    return (
        ConsentRequest.objects.select_related(
            "invitation__meeting__policy__organisation", "invitation__meeting__host"
        )
        .filter(token_sha256=link_secrets.hash_link_token(token))
        .first()
    )


def link_problem(request: ConsentRequest | None) -> Problem | None:
    """Why this consent link cannot be used now, or None if it can (rules S1, G1)."""
    if request is None:
        return Problem(
            "unknown",
            "This link does not work",
            "Please check you copied the whole link from your email. If it still does not "
            "work, contact the person who invited you.",
        )
    invitation, meeting = request.invitation, request.invitation.meeting
    if invitation.revoked_at is not None:
        return Problem(
            "cancelled",
            "This invitation has been cancelled",
            "The person who invited you has cancelled it. If you think this is a mistake, "
            "please contact them.",
        )
    if meeting.cancelled_at is not None:
        return Problem("meeting_cancelled", "This meeting is cancelled", "It will not happen.")
    if meeting.state == Meeting.State.ENDED or invitation.expires_at <= timezone.now():
        return Problem(
            "finished",
            "This meeting has finished",
            "Links only work until the meeting ends. If you need another meeting, please "
            "contact the service.",
        )
    if request.used_at is not None:
        return Problem(
            "used",
            "This link has already been used",
            "Consent was given with this link, so it cannot be used again. If you need to "
            "change something, please contact the person who invited you.",
        )
    if request.superseded_at is not None:
        return Problem(
            "replaced",
            "There is a newer email",
            "We have sent a newer email with a new link. Please use the link in the newest "
            "email from us.",
        )
    return None


@transaction.atomic
def note_refused_link(request: ConsentRequest | None, problem: Problem) -> None:
    """Audit a consent link used again, after the meeting, or after it was replaced."""
    if request is None:
        return  # nothing to tie it to; the link is simply unknown
    invitation = request.invitation
    record(
        "consent.link_refused",
        consenter(invitation),
        meeting=invitation.meeting,
        reason=problem.code,
    )


@dataclass(frozen=True)
class Answers:
    """What the person filled in on the consent page."""

    supervising_adult: str = ""
    need_interpreter: bool = False
    interpreter_language: str = ""
    need_captions: bool = False
    need_easy_read: bool = False
    need_breaks: bool = False
    other_needs: str = ""
    show_on_screen: str = ""


@dataclass(frozen=True)
class Given:
    consent: Consent
    access_sent_now: bool


@transaction.atomic
def do_give_consent(request_id: int, rules_version: int, answers: Answers) -> Given:
    """Record consent to the rules the person read; then send the access link (G1, U3, U4).

    Refused if the link cannot be used, or if the rules changed while they were reading.
    """
    request = ConsentRequest.objects.select_for_update(no_key=True).get(pk=request_id)
    invitation = Invitation.objects.select_related("meeting__policy").get(pk=request.invitation_id)
    actor = consenter(invitation)
    problem = link_problem(request)
    if problem is not None:
        raise ConsentError(problem.detail, problem)
    rules = invitation.meeting.current_house_rules()
    if rules.version != rules_version:
        raise ConsentError(
            "The house rules changed while you were reading them. Please read the new "
            "version below, then agree."
        )
    if invitation.needs_supervising_adult and not answers.supervising_adult.strip():
        raise ConsentError("Please give the name of the adult who will supervise.")
    consent = _store(invitation, request, rules, answers)
    request.used_at = timezone.now()
    request.save(update_fields=["used_at"])
    record(
        "consent.given",
        actor,
        meeting=invitation.meeting,
        rules_version=rules.version,
        rules_sha256=rules.sha256,
        on_behalf_of_child=invitation.is_child,
        supervising_adult_named=bool(consent.supervising_adult),
    )
    send_access = invitation.access_sent_at is None
    if send_access:
        links.issue_access(invitation)
    return Given(consent, send_access)


def _store(
    invitation: Invitation, request: ConsentRequest, rules: HouseRules, answers: Answers
) -> Consent:
    return Consent.objects.create(
        invitation=invitation,
        request=request,
        house_rules=rules,
        rules_version=rules.version,
        rules_sha256=rules.sha256,
        given_by_name=invitation.consent_name,
        given_by_email=invitation.consent_email,
        on_behalf_of_child=invitation.is_child,
        supervising_adult=answers.supervising_adult.strip()
        if invitation.needs_supervising_adult
        else "",
        need_interpreter=answers.need_interpreter,
        interpreter_language=answers.interpreter_language.strip()
        if answers.need_interpreter
        else "",
        need_captions=answers.need_captions,
        need_easy_read=answers.need_easy_read,
        need_breaks=answers.need_breaks,
        other_needs=answers.other_needs.strip(),
        show_on_screen=answers.show_on_screen.strip(),
    )


def consenter(invitation: Invitation) -> Actor:
    """Who consents: for a child, their parent or carer (U3); anyone else themself (U4)."""
    if not invitation.is_child:
        return Actor.invitee(invitation)
    parent = f"{invitation.parent_name} <{invitation.parent_email}>"
    label = f"{parent}, parent or carer of {invitation.name}"
    return Actor("parent_carer", label, invitation.parent_email, invitation=invitation)


def void_consents(invitation: Invitation) -> None:
    """The invitation changed in a way that needs consent again: earlier consent stops counting."""
    invitation.consents.filter(voided_at__isnull=True).update(voided_at=timezone.now())
