"""Whether an invitee's consent counts now, and where each invitee is in the journey."""

from dataclasses import dataclass
from enum import StrEnum

from django.utils import timezone

from haven.consent.models import Consent
from haven.invitations.models import Invitation
from haven.meetings.models import HouseRules


def current_consent(invitation: Invitation, rules: HouseRules | None = None) -> Consent | None:
    """The consent that counts: to the meeting's current house rules, and not voided (G1).

    A consent to an earlier version no longer counts: the person is asked again.
    """
    rules = rules or invitation.meeting.current_house_rules()
    return (
        invitation.consents.filter(house_rules=rules, voided_at__isnull=True)
        .order_by("-id")
        .first()
    )


def has_current_consent(invitation: Invitation) -> bool:
    return current_consent(invitation) is not None


class State(StrEnum):
    INVITED = "invited"
    ASKED_AGAIN = "asked_again"
    CONSENTED = "consented"
    LINK_SENT = "link_sent"
    LOCKED_OUT = "locked_out"
    JOINED = "joined"
    TURNED_AWAY = "turned_away"
    REMOVED = "removed"
    BANNED = "banned"
    CANCELLED = "cancelled"


LABELS = {
    State.INVITED: "Invited: waiting for consent",
    State.ASKED_AGAIN: "Asked to agree again: cannot enter until they do",
    State.CONSENTED: "Consented: link not sent yet",
    State.LINK_SENT: "Link sent",
    State.LOCKED_OUT: "Locked out after wrong passcodes",
    State.JOINED: "Joined",
    State.TURNED_AWAY: "Turned away by the host",
    State.REMOVED: "Removed by the host",
    State.BANNED: "Banned by the host",
    State.CANCELLED: "Cancelled",
}


OUTCOMES = {
    "turned_away": State.TURNED_AWAY,
    "removed": State.REMOVED,
    "banned": State.BANNED,
}


@dataclass(frozen=True)
class InviteeStatus:
    """What the host sees about one invitee before and during the meeting."""

    invitation: Invitation
    state: State
    consent: Consent | None  # the consent that counts now, if any
    last_consent: Consent | None  # the newest consent, even if it no longer counts

    @property
    def label(self) -> str:
        if self.state == State.LOCKED_OUT and self.invitation.passcode_locked_until:
            until = timezone.localtime(self.invitation.passcode_locked_until)
            return f"{LABELS[self.state]}, until {until:%H:%M}"
        return LABELS[self.state]


def status_of(invitation: Invitation, rules: HouseRules) -> InviteeStatus:
    consent = current_consent(invitation, rules)
    last = invitation.consents.order_by("-id").first()
    return InviteeStatus(invitation, _state(invitation, consent, last), consent, last)


def _state(invitation: Invitation, consent: Consent | None, last: Consent | None) -> State:
    if invitation.revoked_at is not None:
        return State.CANCELLED
    if consent is None:
        return State.ASKED_AGAIN if last is not None else State.INVITED
    # Their newest connection says how it went: removed, banned or turned away stays
    # true after the meeting ends (a host reading the page later must not see "Joined").
    newest = invitation.participants.order_by("-id").values_list("left_because", flat=True)
    outcome = newest.first()
    if outcome is not None:
        return OUTCOMES.get(outcome, State.JOINED)
    if invitation.access_sent_at is not None:
        locked = invitation.passcode_locked_until
        if locked is not None and locked > timezone.now():
            return State.LOCKED_OUT
        return State.LINK_SENT
    return State.CONSENTED
