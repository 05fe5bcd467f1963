"""A meeting's compliance evidence: each policy rule that applied, and what shows it was kept.

Built from the audit log (haven/audit) and the records the rules leave (consents, house
rules, removals, bans, the transcript), for an inspection or a complaint (issue 6). Where
evidence that should exist is missing, the page says so in a warning: it never leaves a
gap silently. Recording and private chat were impossible by construction; the page says
so and quotes what makes it true (the media server's room settings, the chat message's
fields).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.http import Http404
from django.utils import timezone

from haven.accounts.models import User
from haven.accounts.permissions import Permission, has_permission
from haven.audit.log import NoteReading, notes_of, read_note, verify_recent
from haven.audit.models import AuditEvent, AuditIdentity
from haven.bans.models import Ban, Removal
from haven.invitations.models import Invitation, Role
from haven.media.gateway import RECORDING_OFF
from haven.meetings.models import Meeting
from haven.records.models import Transcript
from haven.room import protocol
from haven.room.models import Participant

# The rules this page gives evidence for, in short (shared/design/policy-rules.md).
RULES = {
    "P1": "Each meeting records the policy version in force when it was created.",
    "G1": "Every meeting has house rules; each invitee (or their parent or carer) agrees "
    "to them before the link and passcode are sent. The consent records the exact version.",
    "U2": "Every invitee has one role, which decides the consent needed.",
    "U3": "A child under 16 gets no link until a parent or carer consents, naming the "
    "supervising adult.",
    "U4": "A young person aged 16 or over consents for themself.",
    "U5": "The host can mark anyone as needing a supervising adult, who is named.",
    "S1": "Links and passcodes reach invitees only by email sent by Haven; each link is "
    "personal and needs its passcode; a second device is held and flagged.",
    "S2": "Everyone but the host enters a waiting room; the host lets each person in.",
    "S3": "The host can lock the meeting; while locked, nobody new enters.",
    "S5": "There is no private chat: the chat message has no recipient field.",
    "S6": "At the end the host keeps the chat transcript (encrypted, until a date) or "
    "destroys it; every read and destruction is recorded.",
    "S7": "Nothing is recorded: the media server's recording is off and locked.",
    "S8": "The host can remove or ban someone; the reason is recorded.",
    "S9": "Before joining, each person confirms they cannot be overheard or overlooked.",
    "V2": "Only the host can share a screen; the server refuses anyone else's.",
    "V3": "The host can ask people to mute or mute them; only the person can unmute.",
    "D5": "An append-only, tamper-evident audit log records what happened.",
}

ERASED = "a person whose details were erased"
LEFT_BECAUSE = dict(Participant.LeftBecause.choices)
DESTROYED_BECAUSE = {
    "host_chose": "the host chose to destroy it",
    "retention_ended": "its retention period ended",
}
REFUSAL_WORDS = {
    "chat": "a chat message",
    "publish": "sending media",
    "share_screen": "sharing a screen",
    "raise_hand": "raising a hand",
    "lower_hand": "lowering a hand",
}


def access_evidence(user: User, meeting_id: str) -> Meeting:
    """A meeting whose evidence this person may see, or 404: the meeting's own host, or
    staff with the evidence permission in the same organisation (coordinators, the
    service manager). Missing and forbidden look the same."""
    meetings = Meeting.objects.select_related("meeting_type", "policy", "host").filter(
        public_id=meeting_id, organisation_id=user.organisation_id
    )
    if not has_permission(user, Permission.VIEW_EVIDENCE):
        if not has_permission(user, Permission.HOST_MEETINGS):
            raise Http404
        meetings = meetings.filter(host=user)
    meeting = meetings.first()
    if meeting is None:
        raise Http404
    return meeting


@dataclass(frozen=True)
class Fact:
    """One thing on record, and when."""

    when: dt.datetime | None
    text: str


@dataclass
class Section:
    """The evidence for one or more rules."""

    key: str
    heading: str
    rule_ids: list[str]
    summary: list[str] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    by_construction: bool = False

    @property
    def rules(self) -> list[tuple[str, str]]:
        return [(rule_id, RULES[rule_id]) for rule_id in self.rule_ids]


@dataclass
class Evidence:
    meeting: Meeting
    made_at: dt.datetime
    sections: list[Section]

    @property
    def warnings(self) -> list[tuple[Section, str]]:
        return [(section, warning) for section in self.sections for warning in section.warnings]


class _Log:
    """The meeting's audit events, and who the people in them are."""

    def __init__(self, meeting: Meeting) -> None:
        self.events = list(
            AuditEvent.objects.filter(meeting_ref=str(meeting.public_id))
            .select_related("actor_user", "invitation")
            .order_by("id")
        )
        refs = {e.actor_ref for e in self.events} | {e.subject_ref for e in self.events}
        self.labels = {
            identity.ref: identity.label for identity in AuditIdentity.objects.filter(ref__in=refs)
        }
        self.notes = notes_of(self.events)

    def note(self, event: AuditEvent, key: str) -> NoteReading:
        """Free text the event recorded (a reason): from its note, kept out of the chain."""
        return read_note(event.details.get(key, ""), self.notes)

    def of(self, *actions: str) -> list[AuditEvent]:
        return [event for event in self.events if event.action in actions]

    def actor(self, event: AuditEvent) -> str:
        if event.actor_user is not None:
            return event.actor_user.full_name
        if event.actor_kind == "system":
            return "Haven (automatically)"
        if event.invitation is not None and event.actor_kind == "attendee":
            return event.invitation.name
        return _name_only(self.labels.get(event.actor_ref, ERASED))

    def subject(self, event: AuditEvent) -> str:
        if event.invitation is not None:
            return event.invitation.name
        return _name_only(self.labels.get(event.subject_ref, ERASED))


def _name_only(label: str) -> str:
    """An identity's label is "Name <email>"; the page names people."""
    return label.split(" <", 1)[0]


def evidence_for(meeting: Meeting) -> Evidence:
    log = _Log(meeting)
    invitations = list(meeting.invitations.prefetch_related("consents").order_by("id"))
    entered = _first_admission(meeting)
    sections = [
        _policy(meeting, log),
        _consent(meeting, invitations, entered),
        _emails(meeting, log, invitations, entered),
        _waiting_room(meeting, log, entered),
        _lock(log),
        _removals(meeting, log, invitations),
        _chat(log),
        _recording(),
        _media(log),
        _transcript(meeting, log),
        _private_place(log, invitations, entered),
        _audit_chain(),
    ]
    return Evidence(meeting, timezone.now(), sections)


def _first_admission(meeting: Meeting) -> dict[int, dt.datetime]:
    """When each invitee was first let into the meeting."""
    first: dict[int, dt.datetime] = {}
    admitted = meeting.participants.filter(invitation__isnull=False, admitted_at__isnull=False)
    for participant in admitted.order_by("admitted_at"):
        assert participant.invitation_id is not None and participant.admitted_at is not None
        first.setdefault(participant.invitation_id, participant.admitted_at)
    return first


def _when(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%-d %b %Y, %H:%M:%S")


def _day(iso_date: str) -> str:
    try:
        return dt.date.fromisoformat(iso_date).strftime("%-d %b %Y")
    except ValueError:
        return iso_date


def _messages(count: int) -> str:
    return "1 message" if count == 1 else f"{count} messages"


# The sections, one per rule or group of rules


def _policy(meeting: Meeting, log: _Log) -> Section:
    section = Section("policy", "The policy version in force", ["P1"])
    policy = meeting.policy
    section.summary.append(
        f"This meeting was held under policy version {policy.version}, published "
        f"{_when(policy.published_at)} (review date {policy.review_date_label})."
    )
    created = log.of("meeting.created")
    for event in created:
        recorded = event.details.get("policy_version")
        section.facts.append(
            Fact(
                event.at,
                f"{log.actor(event)} created the meeting under policy version {recorded}.",
            )
        )
        if recorded != policy.version:
            section.warnings.append(
                f"The audit log says the meeting was created under policy version "
                f"{recorded}, but the meeting records {policy.version}."
            )
    if not created:
        section.warnings.append("No record in the audit log of when the meeting was created.")
    return section


def _consent(
    meeting: Meeting, invitations: list[Invitation], entered: dict[int, dt.datetime]
) -> Section:
    section = Section("consent", "House rules and consent", ["G1", "U2", "U3", "U4", "U5"])
    rules = list(meeting.house_rules.select_related("created_by").order_by("version"))
    for version in rules:
        origin = (
            f"changed by {version.created_by.full_name}"
            if version.created_by is not None
            else "from the meeting type's template"
        )
        section.facts.append(
            Fact(
                version.created_at,
                f"House rules version {version.version} ({origin}), SHA-256 {version.sha256[:16]}…",
            )
        )
    if not invitations:
        section.summary.append("Nobody was invited to this meeting.")
    for invitation in invitations:
        _consent_of(section, invitation, entered.get(invitation.pk))
    section.facts.sort(key=lambda fact: fact.when or meeting.created_at)
    return section


def _consent_of(section: Section, invitation: Invitation, entered: dt.datetime | None) -> None:
    name, role = invitation.name, invitation.get_role_display().lower()
    consents = list(invitation.consents.all())
    for consent in consents:
        who = (
            f"{consent.given_by_name}, their parent or carer, for {name}"
            if consent.on_behalf_of_child
            else f"{consent.given_by_name} for themself"
        )
        text = (
            f"Consent: {who} ({role}) agreed to house rules version {consent.rules_version} "
            f"(SHA-256 {consent.rules_sha256[:16]}…)."
        )
        if consent.supervising_adult:
            text += f" Supervising adult: {consent.supervising_adult}."
        if consent.voided_at is not None:
            text += f" No longer counted from {_when(consent.voided_at)} (asked again)."
        section.facts.append(Fact(consent.given_at, text))
    if invitation.revoked_at is not None and entered is None and not consents:
        section.summary.append(f"{name}'s invitation was cancelled before any consent.")
        return
    if not consents:
        section.warnings.append(f"No consent on record for {name} ({role}).")
    if invitation.is_child:
        if not any(consent.on_behalf_of_child for consent in consents):
            section.warnings.append(
                f"No consent from a parent or carer on record for {name}, a child under 16."
            )
        if consents and not any(consent.supervising_adult for consent in consents):
            section.warnings.append(f"No supervising adult on record for {name}.")
    elif invitation.role == Role.YOUNG_PERSON and any(c.on_behalf_of_child for c in consents):
        section.warnings.append(f"{name} is 16 or over but a consent was given on their behalf.")
    supervised = any(consent.supervising_adult for consent in consents)
    if invitation.needs_supervision and not invitation.is_child and consents and not supervised:
        section.warnings.append(f"No supervising adult on record for {name}.")
    if entered is not None:
        counted = any(
            consent.given_at <= entered
            and (consent.voided_at is None or consent.voided_at > entered)
            for consent in consents
        )
        if not counted:
            section.warnings.append(
                f"{name} entered the meeting at {_when(entered)} with no consent on record "
                "given before then."
            )


def _emails(
    meeting: Meeting, log: _Log, invitations: list[Invitation], entered: dict[int, dt.datetime]
) -> Section:
    section = Section("links", "Links and passcodes by email only", ["S1"])
    section.summary.append(
        "By construction: Haven has no public join page and no meeting number. Each "
        "personal link is made only after consent, is emailed by Haven to that one "
        "person, and works only with its passcode, sent in a second email."
    )
    words = {
        "consent_request": "the house rules and a consent link",
        "link": "their personal link",
        "passcode": "their passcode",
    }
    sent_links: set[int] = set()
    for event in log.of("email.sent", "email.failed", "passcode.accepted"):
        name = log.subject(event)
        if event.action == "passcode.accepted":
            section.facts.append(Fact(event.at, f"{name} entered their passcode."))
            continue
        kind = str(event.details.get("kind", ""))
        if kind not in words:
            continue
        to = " (to their parent or carer)" if event.details.get("to") == "parent_carer" else ""
        if event.action == "email.failed":
            section.facts.append(Fact(event.at, f"Haven could not email {name} {words[kind]}."))
            continue
        section.facts.append(Fact(event.at, f"Haven emailed {name}{to} {words[kind]}."))
        if kind == "link" and event.invitation_id is not None:
            sent_links.add(event.invitation_id)
    for event in log.of("room.entered_waiting_room"):
        if event.details.get("second_device"):
            section.facts.append(
                Fact(
                    event.at,
                    f"{log.actor(event)} came in on a second device: held in the waiting "
                    "room and flagged to the host.",
                )
            )
    for invitation in invitations:
        if invitation.pk in entered and invitation.pk not in sent_links:
            section.warnings.append(
                f"No record that Haven emailed {invitation.name} their personal link."
            )
    return section


def _waiting_room(meeting: Meeting, log: _Log, entered: dict[int, dt.datetime]) -> Section:
    section = Section("waiting-room", "Everyone came in through the waiting room", ["S2"])
    waited: set[str] = set()
    admitted: set[int | None] = set()
    for event in log.of(
        "room.host_joined",
        "room.entered_waiting_room",
        "room.admitted",
        "room.turned_away",
        "room.left",
        "room.resumed",
    ):
        if event.action == "room.host_joined":
            text = f"{log.actor(event)} (the host, staff) opened the meeting."
        elif event.action == "room.entered_waiting_room":
            waited.add(event.subject_ref)
            text = f"{log.actor(event)} entered the waiting room."
        elif event.action == "room.admitted":
            admitted.add(event.invitation_id)
            text = f"{log.actor(event)} let {log.subject(event)} in from the waiting room."
            if event.subject_ref not in waited:
                section.warnings.append(
                    f"{log.subject(event)} was let in at {_when(event.at)} with no record "
                    "of them in the waiting room first."
                )
        elif event.action == "room.turned_away":
            text = f"{log.actor(event)} turned {log.subject(event)} away from the waiting room."
        elif event.action == "room.resumed":
            place = "waiting room" if event.details.get("state") == "waiting" else "meeting"
            text = (
                f"{log.actor(event)} came back to their place in the {place} on a new "
                "connection (nobody let them in again)."
            )
        else:
            because = LEFT_BECAUSE.get(str(event.details.get("because", "")), "Left")
            place = "waiting room" if event.details.get("was") == "waiting" else "meeting"
            text = f"{log.actor(event)} left the {place}: {because.lower()}."
        section.facts.append(Fact(event.at, text))
    people = meeting.participants.filter(invitation_id__in=list(entered)).select_related(
        "invitation"
    )
    for participant in people.distinct():
        invitation = participant.invitation
        assert invitation is not None
        if invitation.pk not in admitted:
            section.warnings.append(
                f"{invitation.name} was in the meeting, but the audit log has no record of "
                "who let them in."
            )
    section.warnings = list(dict.fromkeys(section.warnings))
    if not entered:
        host_came = bool(log.of("room.host_joined"))
        section.summary.append(
            "Nobody but the host entered the meeting."
            if host_came
            else "Nobody entered the meeting."
        )
    return section


def _lock(log: _Log) -> Section:
    section = Section("lock", "Locking the meeting", ["S3"])
    kinds = ("meeting.locked", "meeting.unlocked", "room.arrived_while_locked")
    for event in log.of(*kinds, "room.place_given_up"):
        if event.action == "meeting.locked":
            text = f"{log.actor(event)} locked the meeting."
        elif event.action == "room.place_given_up":
            text = (
                f"{log.subject(event)} was away (their page had closed) as the meeting was "
                "locked: their place was given up, to come back only through the waiting room."
            )
        elif event.action == "meeting.unlocked":
            text = f"{log.actor(event)} unlocked the meeting."
        else:
            text = f"{log.actor(event)} arrived while the meeting was locked and was held."
        section.facts.append(Fact(event.at, text))
    if not log.of("meeting.locked"):
        section.summary.append("The meeting was never locked.")
    return section


def _removals(meeting: Meeting, log: _Log, invitations: list[Invitation]) -> Section:
    section = Section("removals", "Removals and bans", ["S8"])
    names = {invitation.email.strip().lower(): invitation.name for invitation in invitations}
    for event in log.of("room.removed", "room.banned"):
        note = log.note(event, "reason")
        reason = note.text.strip()
        verb = "banned" if event.action == "room.banned" else "removed"
        what = f"{log.actor(event)} {verb} {log.subject(event)}" + (
            " from every meeting of the organisation" if verb == "banned" else ""
        )
        if note.state == "erased":
            what += ". A reason was recorded; it has since been erased."
        elif note.state == "changed":
            what += "."
            section.warnings.append(
                f"The reason for when {log.subject(event)} was {verb} was changed after "
                "it was recorded: it does not match the audit log."
            )
        elif reason:
            what += f". Reason: {reason}"
        else:
            what += "."
            section.warnings.append(
                f"No reason on record for when {log.subject(event)} was {verb}."
            )
        section.facts.append(Fact(event.at, what))
    for ban in Ban.objects.filter(meeting=meeting).select_related("lifted_by"):
        name = names.get(ban.email, ERASED)
        if ban.lapsed:
            section.facts.append(
                Fact(
                    ban.lifted_at,
                    f"{name}'s ban ended by itself: its review date, "
                    f"{ban.review_on:%-d %b %Y}, passed and nobody kept it.",
                )
            )
        elif ban.lifted_at is not None:
            lifter = ban.lifted_by.full_name if ban.lifted_by is not None else "a coordinator"
            section.facts.append(
                Fact(ban.lifted_at, f"{lifter} lifted {name}'s ban. Reason: {ban.lift_reason}")
            )
        else:
            section.summary.append(
                f"{name}'s ban is still in force. It is to be reviewed by "
                f"{ban.review_on:%-d %b %Y}, or it ends by itself then."
            )
    section.facts.sort(key=lambda fact: fact.when or meeting.created_at)
    removed = Removal.objects.filter(meeting=meeting).count()
    recorded = len(log.of("room.removed", "room.banned"))
    if removed != recorded:
        section.warnings.append(
            f"Haven holds {removed} removal(s) for this meeting but the audit log records "
            f"{recorded}."
        )
    if not removed and not recorded:
        section.summary.append("Nobody was removed or banned.")
    return section


def _chat(log: _Log) -> Section:
    section = Section("chat", "No private chat", ["S5"], by_construction=True)
    fields = [name for name in protocol.SendChat.model_fields if name not in ("type", "id")]
    forbids = protocol.SendChat.model_config.get("extra") == "forbid"
    section.summary.append(
        "Impossible by construction: Haven's chat message carries only "
        f"{' and '.join(fields)} (besides its type and request number): it has no recipient "
        "field, and the server refuses any message with a field it does not know. Every "
        "message goes to everyone in the meeting; there is no other kind."
    )
    if "recipient" in protocol.SendChat.model_fields:
        section.warnings.append("The chat message has a recipient field.")
    if not forbids:
        section.warnings.append("The chat message does not refuse unknown fields.")
    for event in log.of("chat.removed"):
        section.facts.append(Fact(event.at, f"{log.actor(event)} removed a chat message."))
    return section


def _recording() -> Section:
    section = Section("recording", "Nothing recorded", ["S7"], by_construction=True)
    settings = ", ".join(f"{key}: {str(value).lower()}" for key, value in RECORDING_OFF.items())
    section.summary.append(
        "Impossible by construction: Haven has no recording feature, and every room on the "
        f"media server is created with recording off and locked ({settings}); nobody can "
        "turn it on during the meeting. The meeting page told everyone \u201cThis meeting is "
        "not recorded\u201d."
    )
    if RECORDING_OFF != {"record": False, "lock_record": True}:
        section.warnings.append("The media server's rooms are not created with recording off.")
    return section


def _media(log: _Log) -> Section:
    section = Section("media", "Screen sharing, muting, and requests Haven refused", ["V2", "V3"])
    section.summary.append(
        "By construction: only the host's screen share reaches the media server, and only "
        "a person themself can unmute their microphone or turn on their camera."
    )
    kinds = ("room.screen_shared", "room.asked", "room.muted", "room.mute_reapplied")
    for event in log.of(*kinds, "protocol.refused"):
        if event.action == "room.screen_shared":
            text = f"{log.actor(event)} (the host) shared their screen."
        elif event.action == "room.asked":
            what = "mute" if event.details.get("what") == "mute" else "turn their camera off"
            whom = "everyone" if event.details.get("everyone") else "one person"
            text = f"{log.actor(event)} asked {whom} to {what}."
        elif event.action == "room.muted":
            whom = "everyone" if event.details.get("everyone") else "one person"
            text = f"{log.actor(event)} muted {whom}."
        elif event.action == "room.mute_reapplied":
            text = "Haven muted a new feed of someone the host had muted (not yet unmuted)."
        else:
            kind = str(event.details.get("message_type", ""))
            request = REFUSAL_WORDS.get(kind, f"a \u201c{kind}\u201d request")
            text = f"Haven refused {request} from {log.actor(event)} ({event.details.get('code')})."
        section.facts.append(Fact(event.at, text))
    return section


def _transcript(meeting: Meeting, log: _Log) -> Section:
    section = Section("transcript", "The chat transcript", ["S6"])
    transcript = Transcript.objects.filter(meeting=meeting).first()
    for event in log.of(
        "transcript.kept", "transcript.destroyed", "transcript.read", "transcript.downloaded"
    ):
        if event.action == "transcript.kept":
            text = (
                f"{log.actor(event)} kept the transcript, encrypted, until "
                f"{_day(str(event.details.get('retain_until')))}."
            )
        elif event.action == "transcript.destroyed":
            why = DESTROYED_BECAUSE.get(str(event.details.get("because", "")), "destroyed")
            text = f"{log.actor(event)} destroyed the transcript: {why}."
        else:
            verb = "read" if event.action == "transcript.read" else "downloaded"
            text = f"{log.actor(event)} {verb} the transcript."
        section.facts.append(Fact(event.at, text))
    if transcript is None:
        if meeting.cancelled_at is not None:
            section.summary.append("The meeting was cancelled: there was no chat to keep.")
        elif meeting.state == Meeting.State.ENDED:
            section.warnings.append("No record of what happened to the chat transcript.")
        else:
            section.summary.append("The meeting has not ended: its chat is not a transcript yet.")
        return section
    if transcript.destroyed_at is not None:
        destroyed = log.of("transcript.destroyed")
        who = log.actor(destroyed[-1]) if destroyed else None
        section.summary.append(
            f"The transcript ({_messages(transcript.message_count)}) was destroyed on "
            f"{_when(transcript.destroyed_at)}"
            + (f" by {who}" if who else "")
            + f": {DESTROYED_BECAUSE.get(transcript.destroyed_because, 'destroyed')}."
        )
        if not destroyed:
            section.warnings.append("No record in the audit log of who destroyed the transcript.")
    else:
        section.summary.append(
            f"The transcript ({_messages(transcript.message_count)}) is kept, encrypted, until "
            f"{transcript.retain_until:%-d %b %Y}, then destroyed automatically."
        )
        if not log.of("transcript.kept"):
            section.warnings.append("No record in the audit log of who kept the transcript.")
    return section


def _private_place(
    log: _Log, invitations: list[Invitation], entered: dict[int, dt.datetime]
) -> Section:
    section = Section("private-place", "A private place to join from", ["S9"])
    confirmed: set[int] = set()
    for event in log.of("room.confirmed_private_place"):
        section.facts.append(
            Fact(
                event.at,
                f"{log.actor(event)} confirmed they could not be overheard or overlooked.",
            )
        )
        if event.invitation_id is not None:
            confirmed.add(event.invitation_id)
    for invitation in invitations:
        if invitation.pk in entered and invitation.pk not in confirmed:
            section.warnings.append(
                f"No record that {invitation.name} confirmed a private place before joining."
            )
    return section


def _audit_chain() -> Section:
    section = Section("audit-log", "The audit log is intact", ["D5"])
    check = verify_recent()
    checkpoint = check.checkpoint
    if check.broken is not None:
        section.warnings.append(
            f"The audit log is broken at entry {check.broken.event_id}: {check.broken.reason}. "
            "The evidence on this page may not be complete."
        )
    elif check.since_id:
        section.summary.append(
            f"The audit log was checked up to entry {check.since_id} before; the "
            f"{check.checked} entries after it were checked when this page was made: none "
            "was changed, deleted or inserted."
        )
    else:
        section.summary.append(
            f"Every entry of the audit log ({check.checked}) was checked when this page was "
            "made: none was changed, deleted or inserted."
        )
    if checkpoint is not None and checkpoint.full_check_at is not None:
        when = _when(checkpoint.full_check_at)
        if checkpoint.full_check_problem:
            section.warnings.append(
                f"The last full check of the audit log, on {when}, found it broken at entry "
                f"{checkpoint.full_check_broken_id}: {checkpoint.full_check_problem}."
            )
        else:
            section.summary.append(
                f"The last full check of every entry ({checkpoint.full_check_checked}), on "
                f"{when}, found none changed, deleted or inserted. Haven checks the whole log "
                "every day."
            )
    return section
