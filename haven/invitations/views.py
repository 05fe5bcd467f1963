from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from haven.bans.models import is_excluded
from haven.consent.status import has_current_consent
from haven.invitations import guessing
from haven.invitations.actions import PasscodeResult, do_check_passcode
from haven.invitations.models import Invitation
from haven.invitations.secrets import PASSCODE_DIGITS, hash_link_token
from haven.meetings.models import Meeting
from haven.room.access import SESSION_INVITATION_KEY


class PasscodeForm(forms.Form):
    passcode = forms.CharField(
        label="Passcode",
        help_text="The 6 numbers in the email “Your passcode for …”.",
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "spellcheck": "false"}
        ),
        error_messages={"required": "Please type the passcode from your email."},
    )

    def clean_passcode(self) -> str:
        """Six digits (spaces and dashes between them are fine). Anything else is not a
        passcode at all: it is refused here and never counts as a try (rule S1)."""
        typed = self.cleaned_data["passcode"]
        digits = "".join(ch for ch in typed if ch not in " -\t")
        if len(digits) != PASSCODE_DIGITS or not (digits.isascii() and digits.isdigit()):
            raise forms.ValidationError("Passcodes are 6 digits.")
        return digits


@never_cache
@require_http_methods(["GET", "POST"])
def enter(request: HttpRequest, token: str) -> HttpResponse:
    """A personal link: it asks only for the passcode, then opens the meeting (rule S1)."""
    invitation = (
        Invitation.objects.select_related("meeting__policy", "meeting__host")
        .filter(link_token_sha256=hash_link_token(token))
        .first()
    )
    problem = _link_problem(invitation)
    if problem is not None:
        policy = invitation.meeting.policy if invitation else None
        status = 403 if problem.get("code") == "consent_needed" else 404
        return render(
            request, "invitations/link_problem.html", {**problem, "policy": policy}, status=status
        )
    assert invitation is not None
    form = PasscodeForm(request.POST or None)
    status = 400 if form.errors else 200
    if request.method == "POST" and form.is_valid():
        result = do_check_passcode(
            invitation.pk, form.cleaned_data["passcode"], guessing.client_address(request)
        )
        if result.accepted:
            request.session.cycle_key()
            request.session[SESSION_INVITATION_KEY] = invitation.pk
            return redirect("room:room", meeting_id=invitation.meeting.public_id)
        form.add_error("passcode", _wrong_passcode_message(result, invitation))
        status = 429 if result.address_pause is not None else 400
    context = {"form": form, "invitation": invitation, "meeting": invitation.meeting}
    context["policy"] = invitation.meeting.policy
    return render(request, "invitations/enter.html", context, status=status)


def _link_problem(invitation: Invitation | None) -> dict[str, str] | None:
    if invitation is None:
        return {
            "heading": "This link does not work",
            "detail": "Please check you copied the whole link from your email. "
            "If it still does not work, ask the person who invited you to send a new one.",
        }
    if invitation.revoked_at is not None:
        return {
            "heading": "This link has been cancelled",
            "detail": "The person who invited you has cancelled it. "
            "If you think this is a mistake, please contact them.",
        }
    if invitation.meeting.cancelled_at is not None:
        return {
            "heading": "This meeting is cancelled",
            "detail": "The links for it no longer work. "
            "If you need another meeting, please contact the service.",
        }
    if invitation.meeting.state == Meeting.State.ENDED or invitation.expires_at <= timezone.now():
        return {
            "heading": "This meeting has finished",
            "detail": "Links only work until the meeting ends. "
            "If you need another meeting, please contact the service.",
        }
    meeting = invitation.meeting
    if is_excluded(meeting.pk, meeting.organisation_id, invitation.email):
        return {
            "heading": "You cannot join this meeting",
            "detail": "The service has stopped this link from working for you. "
            f"If you think this is a mistake, please email {meeting.policy.contact_email}.",
        }
    if not has_current_consent(invitation):
        return _consent_needed(invitation)
    return None


def _consent_needed(invitation: Invitation) -> dict[str, str]:
    """The house rules changed after consent, or the invitation did (rule G1)."""
    who = "your parent or carer" if invitation.is_child else "you"
    return {
        "code": "consent_needed",
        "heading": "Please agree to the house rules first",
        "detail": "Something about this meeting has changed, such as its house rules. "
        f"We have emailed {who} a link to read them and agree again. "
        "This link will work again after that.",
    }


def _wrong_passcode_message(result: PasscodeResult, invitation: Invitation) -> str:
    if result.address_pause is not None:
        return guessing.wait_message(result.address_pause)
    if result.locked_until is not None:
        local = timezone.localtime(result.locked_until)
        policy = invitation.meeting.policy
        return (
            "That passcode was not right too many times. For your safety this link is paused. "
            f"Please try again after {local:%H:%M}. If the meeting starts before then, "
            f"email {policy.organisation.name} at {policy.contact_email}: "
            "your host can open the link again."
        )
    return "That passcode is not right. Please check the email with your passcode and try again."
