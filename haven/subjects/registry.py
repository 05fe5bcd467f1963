"""The personal-data registry (rule D4): every model field Haven stores, personal or not.

Two tables cover every concrete field of every model in the project, and a test fails
when a field is in neither (tests/test_subject_access.py), so a new personal field cannot
slip in unnoticed:

- PERSONAL: fields that hold data about a person, what they are, and what erasure does
  to them (delete the row, blank or pseudonymise the field, or keep it, saying why).
- NOT_PERSONAL: every other field, with the reason it is not about a person.

HOLDINGS says how rows are found for one person by their email address, which fields a
subject-access export shows, and how erasure treats the rows. haven/subjects/access.py
(the export) and haven/subjects/erasure.py (erasure) are driven by it.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db.models import Model, Q, QuerySet

from haven.policy.loader import RETENTION_FIELDS


class Erasure(StrEnum):
    DELETE = "delete"  # the row is deleted
    BLANK = "blank"  # the field is emptied; the row stays for someone else
    PSEUDONYMISE = "pseudonymise"  # the field says "Erased" instead of the person
    KEEP = "keep"  # kept, for the reason given


@dataclass(frozen=True)
class Personal:
    """One personal field: what it holds and what erasure does to it."""

    what: str
    erasure: Erasure
    why: str = ""  # required when kept; otherwise an optional note


STAFF_KEPT = (
    "Staff accounts are employment records: meetings, bans and audit entries point to "
    "them. A member of staff who leaves is deactivated on the staff pages."
)
AUDIT_KEPT = (
    "The audit log is append-only evidence of who did what (rule D5). It names people "
    "only by pseudonym; erasure deletes the identity row that says who a pseudonym is."
)
SECURITY_KEPT = (
    "A record of sign-in attempts to a staff account, kept for security and removed by "
    "the retention schedule."
)
NEVER_EXPORTED = "A secret: part of a staff account's sign-in, never exported."

P = Personal
E = Erasure

PERSONAL: dict[str, dict[str, Personal]] = {
    "accounts.User": {
        "email": P("Staff email address (also the username)", E.KEEP, STAFF_KEPT),
        "username": P("The same email address, as Django's username", E.KEEP, STAFF_KEPT),
        "full_name": P("Staff name, shown to attendees", E.KEEP, STAFF_KEPT),
        "job_title": P("Job title, shown to attendees", E.KEEP, STAFF_KEPT),
        "first_name": P("Unused Django name field", E.KEEP, STAFF_KEPT),
        "last_name": P("Unused Django name field", E.KEEP, STAFF_KEPT),
        "password": P("Password hash", E.KEEP, NEVER_EXPORTED),
        "last_login": P("When they last signed in", E.KEEP, STAFF_KEPT),
        "date_joined": P("When the account was made", E.KEEP, STAFF_KEPT),
    },
    "accounts.StaffSession": {
        "user_agent": P("The browser a member of staff signed in with", E.KEEP, STAFF_KEPT),
        "signed_in_at": P("When they signed in", E.KEEP, STAFF_KEPT),
        "last_seen_at": P("When they were last active", E.KEEP, STAFF_KEPT),
        "session_key": P("Their browser's session key", E.KEEP, NEVER_EXPORTED),
    },
    "accounts.RoleGrant": {
        "role": P("A staff role they hold", E.KEEP, STAFF_KEPT),
    },
    "otp_totp.TOTPDevice": {
        "name": P("Name of their authenticator", E.KEEP, STAFF_KEPT),
        "key": P("Authenticator secret", E.KEEP, NEVER_EXPORTED),
        "last_used_at": P("When they last used a code", E.KEEP, STAFF_KEPT),
    },
    "otp_static.StaticDevice": {
        "name": P("Name of their recovery codes", E.KEEP, STAFF_KEPT),
        "last_used_at": P("When they last used a recovery code", E.KEEP, STAFF_KEPT),
    },
    "otp_static.StaticToken": {
        "token": P("A recovery code", E.KEEP, NEVER_EXPORTED),
    },
    "axes.AccessAttempt": {
        "username": P("The address typed at staff sign-in", E.KEEP, SECURITY_KEPT),
        "ip_address": P("Where the attempt came from", E.KEEP, SECURITY_KEPT),
        "user_agent": P("The browser used", E.KEEP, SECURITY_KEPT),
        "get_data": P("The sign-in request's query", E.KEEP, SECURITY_KEPT),
        "post_data": P("The sign-in form, passwords removed by axes", E.KEEP, SECURITY_KEPT),
    },
    "axes.AccessFailureLog": {
        "username": P("The address typed at staff sign-in", E.KEEP, SECURITY_KEPT),
        "ip_address": P("Where the attempt came from", E.KEEP, SECURITY_KEPT),
        "user_agent": P("The browser used", E.KEEP, SECURITY_KEPT),
    },
    "axes.AccessLog": {
        "username": P("The address that signed in", E.KEEP, SECURITY_KEPT),
        "ip_address": P("Where they signed in from", E.KEEP, SECURITY_KEPT),
        "user_agent": P("The browser used", E.KEEP, SECURITY_KEPT),
        "session_hash": P("A hash of their session key", E.KEEP, SECURITY_KEPT),
    },
    "admin.LogEntry": {
        "object_repr": P("How an edited row was named, often 'Name <email>'", E.DELETE),
        "change_message": P("What was changed in the admin site", E.DELETE),
    },
    "sessions.Session": {
        "session_data": P(
            "An attendee's browser session: which invitation entered a passcode, which "
            "consent was just given",
            E.DELETE,
            "Not exported: it holds only row numbers, which the export shows as rows.",
        ),
    },
    "invitations.Invitation": {
        "name": P("Invitee's name, set by staff", E.DELETE),
        "email": P("Invitee's email address", E.DELETE),
        "role": P("Invitee's role (professional, parent or carer, young person, child)", E.DELETE),
        "parent_name": P(
            "A child's parent or carer", E.BLANK, "Blanked when the parent or carer is erased."
        ),
        "parent_email": P(
            "A child's parent or carer's address",
            E.BLANK,
            "Blanked when the parent or carer is erased.",
        ),
        "needs_supervision": P("Whether the invitee needs a supervising adult", E.DELETE),
        "passcode_failures": P("Wrong passcodes typed", E.DELETE),
        "passcode_locked_until": P("Passcode paused until", E.DELETE),
        "access_sent_at": P("When their link and passcode were sent", E.DELETE),
        "created_at": P("When they were invited", E.DELETE),
        "revoked_at": P("When their invitation was cancelled", E.DELETE),
    },
    "consent.ConsentRequest": {
        "sent_to": P(
            "Where the consent link went",
            E.BLANK,
            "Deleted with the invitation; blanked on a child's invitation when the parent "
            "or carer it went to is erased.",
        ),
        "created_at": P("When consent was asked", E.DELETE),
    },
    "consent.Consent": {
        "given_by_name": P("Who agreed to the house rules", E.PSEUDONYMISE),
        "given_by_email": P("Their address", E.PSEUDONYMISE),
        "on_behalf_of_child": P("Whether they agreed for a child", E.DELETE),
        "supervising_adult": P(
            "The named supervising adult (a third person, found only through this consent)",
            E.DELETE,
            "On a child's consent kept when the parent or carer who gave it is erased, it "
            "says 'Erased' if it named them.",
        ),
        "need_interpreter": P("Access need: an interpreter", E.DELETE),
        "interpreter_language": P("The interpreter's language", E.DELETE),
        "need_captions": P("Access need: captions", E.DELETE),
        "need_easy_read": P("Access need: easy read", E.DELETE),
        "need_breaks": P("Access need: breaks", E.DELETE),
        "other_needs": P("Other access needs, in their words", E.DELETE),
        "show_on_screen": P("What they asked to show on screen", E.DELETE),
        "given_at": P("When they agreed", E.DELETE),
        "voided_at": P("When the agreement stopped counting", E.DELETE),
    },
    "room.Participant": {
        "name": P("Name shown in the meeting", E.DELETE),
        "state": P("Whether they were waiting, in the meeting or gone", E.DELETE),
        "left_because": P("Why they left (removed, banned, ...)", E.DELETE),
        "second_device": P("Whether they came on a second device", E.DELETE),
        "arrived_while_locked": P("Whether they came while the meeting was locked", E.DELETE),
        "host_muted": P("Whether the host muted their microphone", E.DELETE),
        "muted_on_entry": P("Whether they started muted, as the meeting type says", E.DELETE),
        "camera_off_on_entry": P(
            "Whether they started with the camera off, as the meeting type says", E.DELETE
        ),
        "hand_raised_at": P("When they raised their hand, while it is up", E.DELETE),
        "connected_at": P("When they connected", E.DELETE),
        "admitted_at": P("When they were let in", E.DELETE),
        "left_at": P("When they left", E.DELETE),
    },
    "chat.ChatMessage": {
        "author_name": P("Who wrote a chat message", E.DELETE),
        "text": P("What they wrote", E.DELETE),
        "created_at": P("When", E.DELETE),
    },
    "records.Transcript": {
        "ciphertext": P(
            "The encrypted chat of a meeting: each person's lines, with their name",
            E.PSEUDONYMISE,
            "The person's lines are replaced by 'Erased' and the transcript is encrypted "
            "again under a new key; other people's lines stay.",
        ),
    },
    "bans.Removal": {
        "email": P(
            "Address removed from a meeting",
            E.DELETE,
            "Kept while that meeting has not ended, so they cannot come back to it (S8).",
        ),
        "reason": P("Why, in the host's words", E.DELETE),
        "created_at": P("When", E.DELETE),
    },
    "bans.Ban": {
        "email": P(
            "Address banned from the organisation's meetings",
            E.DELETE,
            "An active ban is kept: deleting it would let the person back into meetings "
            "with children and families (S8). A coordinator lifts it first (with a "
            "reason), then erasure deletes it.",
        ),
        "reason": P("Why, in the host's words", E.DELETE),
        "created_at": P("When", E.DELETE),
        "lifted_at": P("When the ban was lifted", E.DELETE),
        "lift_reason": P("Why it was lifted", E.DELETE),
        "review_on": P("When the ban is reviewed, or ends by itself", E.DELETE),
        "lapsed": P("Whether it ended by itself at its review date", E.DELETE),
    },
    "audit.AuditEvent": {
        "actor_ref": P("Pseudonym of who did something", E.KEEP, AUDIT_KEPT),
        "subject_ref": P("Pseudonym of whom it was done to", E.KEEP, AUDIT_KEPT),
        "details": P(
            "What happened: kinds and counts. Free text (reasons, a document's name) is "
            "not here but in an audit note, which erasure deletes: the entry keeps only "
            "the note's number and a salted hash that says nothing once the note is gone",
            E.KEEP,
            AUDIT_KEPT,
        ),
        "at": P("When", E.KEEP, AUDIT_KEPT),
        "action": P("What happened", E.KEEP, AUDIT_KEPT),
    },
    "audit.AuditNote": {
        "text": P(
            "Free text an audit entry refers to: a host's reason for a removal or ban, a "
            "coordinator's reason for lifting a ban or erasing, a document's name",
            E.DELETE,
            "The audit entry keeps only a salted hash of it; with the note and its salt "
            "gone, the hash says nothing, and the chain still verifies (D5).",
        ),
        "subject_ref": P("Pseudonym of whom the words are about", E.DELETE),
        "created_at": P("When", E.DELETE),
    },
    "audit.AuditIdentity": {
        "label": P("Who a pseudonym is: 'Name <email>'", E.DELETE),
        "email": P("Their address", E.DELETE),
    },
}

# Reasons a field is not about a person.
KEY = "A row number or key, not about anyone"
LINK = "A link to another row; the personal data is in that row"
HASHED = "A hash of a secret link or passcode: says nothing about the person"
SERVICE = "About the service, the policy or a meeting, not about a person"
STAFF_FLAG = "A staff account setting"
MEDIA = "A media-server handle for the live meeting, not about a person"
TECH = "Technical bookkeeping"
AUDIT_CHAIN = "The hash chain that makes the audit log tamper-evident"
TITLE = (
    "Written by staff about the meeting; staff are asked not to name attendees in it, "
    "since free text cannot be searched for a person reliably"
)


def _all(reason: str, *names: str) -> dict[str, str]:
    return dict.fromkeys(names, reason)


NOT_PERSONAL: dict[str, dict[str, str]] = {
    "accounts.User_groups": _all(LINK, "id", "user", "group"),
    "accounts.User_user_permissions": _all(LINK, "id", "user", "permission"),
    "accounts.User": {
        **_all(KEY, "id"),
        **_all(STAFF_FLAG, "is_superuser", "is_staff", "is_active"),
        "organisation": LINK,
    },
    "accounts.RoleGrant": {"id": KEY, "user": LINK, "granted_at": STAFF_FLAG},
    "accounts.StaffSession": {"id": KEY, "user": LINK, "reauthenticated_at": TECH},
    "accounts.StaffSetupLink": {
        **_all(KEY, "id"),
        **_all(LINK, "user", "created_by"),
        "token_sha256": HASHED,
        **_all(TECH, "created_at", "expires_at", "used_at"),
    },
    "policy.Organisation": _all(SERVICE, "id", "name", "slug"),
    "policy.PolicyVersion": _all(
        SERVICE,
        "id",
        "organisation",
        "version",
        "review_date",
        "review_date_label",
        "contact_email",
        "staff_page_url",
        "privacy_url",
        "controller",
        "processor",
        "source_sha256",
        "published_at",
        *RETENTION_FIELDS.values(),
    ),
    "policy.MeetingType": _all(
        SERVICE,
        "id",
        "policy",
        "key",
        "name",
        "max_attendees",
        "attendees_start_muted",
        "transcript_retention_days",
        "house_rules",
        "house_rules_easy_read",
    ),
    "policy.PolicyDraft": {
        **_all(
            SERVICE,
            "id",
            "organisation",
            "based_on",
            "version",
            "review_date",
            "contact_email",
            "staff_page_url",
            "privacy_url",
            "controller",
            "processor",
            "created_at",
            "updated_at",
            "published_as",
            *RETENTION_FIELDS.values(),
        ),
        "created_by": LINK,
    },
    "policy.MeetingTypeDraft": _all(
        SERVICE,
        "id",
        "draft",
        "key",
        "name",
        "max_attendees",
        "attendees_start_muted",
        "transcript_retention_days",
        "house_rules",
        "house_rules_easy_read",
    ),
    "audit.AuditEvent": {
        "id": KEY,
        **_all(TECH, "actor_kind", "meeting_ref"),
        **_all(AUDIT_CHAIN, "prev_hash", "hash"),
        **_all(LINK, "actor_user", "meeting", "invitation"),
    },
    "audit.AuditChainHead": _all(AUDIT_CHAIN, "id", "last_hash"),
    "audit.AuditNote": {
        "id": KEY,
        "salt": "Random, per note: makes its hash in the chain unguessable",
        "organisation": LINK,
    },
    "audit.AuditCheckpoint": _all(
        AUDIT_CHAIN,
        "id",
        "through_id",
        "last_hash",
        "verified_at",
        "full_check_at",
        "full_check_checked",
        "full_check_broken_id",
        "full_check_problem",
    ),
    "audit.AuditAnchor": _all(
        AUDIT_CHAIN, "id", "through_id", "last_hash", "destroyed_count", "updated_at"
    ),
    "audit.AuditIdentity": {"ref": "The pseudonym itself: a keyed hash of the address"},
    "meetings.Meeting": {
        **_all(KEY, "id", "public_id"),
        **_all(LINK, "organisation", "host", "policy", "meeting_type"),
        "title": TITLE,
        **_all(
            SERVICE,
            "starts_at",
            "duration_minutes",
            "state",
            "locked",
            "created_at",
            "started_at",
            "ended_at",
            "cancelled_at",
        ),
        "media_server": MEDIA,
    },
    "meetings.HouseRules": {
        **_all(SERVICE, "id", "version", "text", "easy_read", "sha256", "created_at"),
        **_all(LINK, "meeting", "created_by"),
    },
    "invitations.Invitation": {
        "id": KEY,
        **_all(LINK, "meeting", "invited_by"),
        **_all(HASHED, "link_token_sha256", "passcode_hash"),
        **_all(TECH, "calendar_sequence", "expires_at"),
    },
    "invitations.PasscodeAddress": {
        "id": KEY,
        "address_sha256": "A keyed hash of a network address (never the address itself), "
        "linked to no person or email, deleted about an hour after its first wrong passcode",
        **_all(TECH, "window_started_at", "wrong_tries", "paused_until"),
    },
    "consent.ConsentRequest": {
        "id": KEY,
        **_all(LINK, "invitation", "house_rules"),
        "token_sha256": HASHED,
        **_all(TECH, "reason", "used_at", "superseded_at"),
    },
    "consent.Consent": {
        "id": KEY,
        **_all(LINK, "invitation", "request", "house_rules"),
        **_all(SERVICE, "rules_version", "rules_sha256"),
    },
    "room.Participant": {
        **_all(KEY, "id", "public_id"),
        **_all(LINK, "meeting", "user", "invitation", "admitted_by"),
        **_all(TECH, "channel_name", "server"),
        "resume_hash": HASHED,
        **_all(MEDIA, "feed_id", "audio_mid", "screen_feed_id"),
    },
    "room.ServerProcess": _all(TECH, "id", "name", "seen_at"),
    "chat.ChatMessage": {
        **_all(KEY, "id", "public_id"),
        **_all(LINK, "meeting", "participant"),
        **_all(TECH, "author_is_host", "removed_at"),
    },
    "records.Transcript": {
        "id": KEY,
        "meeting": LINK,
        **_all(TECH, "nonce", "message_count", "created_at", "retain_until", "destroyed_at"),
        "destroyed_because": TECH,
    },
    "records.TranscriptKey": {
        "id": KEY,
        "transcript": LINK,
        **_all("The transcript's key, wrapped: decrypts the transcript", "wrapped_key"),
        **_all(TECH, "wrap_nonce", "key_id"),
    },
    "bans.Removal": {"id": KEY, **_all(LINK, "meeting", "removed_by")},
    "bans.Ban": {
        "id": KEY,
        **_all(LINK, "organisation", "banned_by", "meeting", "lifted_by"),
    },
    "auth.Permission": _all(SERVICE, "id", "name", "content_type", "codename"),
    "auth.Group_permissions": _all(LINK, "id", "group", "permission"),
    "auth.Group": _all(SERVICE, "id", "name"),
    "contenttypes.ContentType": _all(SERVICE, "id", "app_label", "model"),
    "sessions.Session": _all(TECH, "session_key", "expire_date"),
    "admin.LogEntry": {
        **_all(KEY, "id", "object_id"),
        **_all(LINK, "user", "content_type"),
        **_all(TECH, "action_time", "action_flag"),
    },
    "otp_totp.TOTPDevice": {
        "id": KEY,
        "user": LINK,
        **_all(
            TECH,
            "confirmed",
            "throttling_failure_timestamp",
            "throttling_failure_count",
            "created_at",
            "step",
            "t0",
            "digits",
            "tolerance",
            "drift",
            "last_t",
        ),
    },
    "otp_static.StaticDevice": {
        "id": KEY,
        "user": LINK,
        **_all(
            TECH,
            "confirmed",
            "throttling_failure_timestamp",
            "throttling_failure_count",
            "created_at",
        ),
    },
    "otp_static.StaticToken": {"id": KEY, "device": LINK},
    "axes.AccessFailureLog": {
        "id": KEY,
        **_all(TECH, "http_accept", "path_info", "attempt_time", "locked_out"),
    },
    "axes.AccessAttempt": {
        "id": KEY,
        **_all(TECH, "http_accept", "path_info", "attempt_time", "failures_since_start"),
    },
    "axes.AccessAttemptExpiration": {"access_attempt": LINK, "expires_at": TECH},
    "axes.AccessLog": {
        "id": KEY,
        **_all(TECH, "http_accept", "path_info", "attempt_time", "logout_time"),
    },
}


# How a person's rows are found and treated. `find(organisation_id, address)` returns
# the rows; `keep` says why one row must stay ("" when it can go).


@dataclass(frozen=True)
class Holding:
    key: str
    model: str
    title: str
    found_by: str
    find: Callable[[int, str], QuerySet[Any]]
    fields: tuple[str, ...]
    context: tuple[str, ...] = ()
    erasure: Erasure = Erasure.DELETE
    blank: tuple[str, ...] = ()
    keep: Callable[[Any], str] | None = field(default=None)


def _models() -> dict[str, type[Model]]:
    from django.apps import apps

    return {m._meta.label: m for m in apps.get_models(include_auto_created=True)}


def model(label: str) -> type[Model]:
    return _models()[label]


def rows(label: str) -> QuerySet[Any]:
    """Every row of a model, by its label."""
    return model(label)._default_manager.all()


def _staff(org: int, address: str) -> QuerySet[Any]:
    return rows("accounts.User").filter(organisation_id=org, email__iexact=address)


def _own_invitations(org: int, address: str) -> QuerySet[Any]:
    return rows("invitations.Invitation").filter(
        meeting__organisation_id=org, email__iexact=address
    )


def _by_user(label: str) -> Callable[[int, str], QuerySet[Any]]:
    def find(org: int, address: str) -> QuerySet[Any]:
        return rows(label).filter(user__in=_staff(org, address))

    return find


def _sign_ins(label: str) -> Callable[[int, str], QuerySet[Any]]:
    def find(org: int, address: str) -> QuerySet[Any]:
        found = rows(label).filter(username__iexact=address)
        # Only for a member of staff of this organisation: the table is shared.
        return found if _staff(org, address).exists() else found.none()

    return find


def _keep_open_meeting_removal(removal: Any) -> str:
    if removal.meeting.state != "ended":
        return (
            "They were removed from a meeting that has not ended: kept so they cannot "
            "come back to it (S8)."
        )
    return ""


def _pseudonym(address: str) -> str:
    from haven.audit.log import pseudonym

    return pseudonym(address)


def _keep_active_ban(ban: Any) -> str:
    if ban.lifted_at is None:
        return PERSONAL["bans.Ban"]["email"].why
    return ""


HOLDINGS: tuple[Holding, ...] = (
    Holding(
        "staff",
        "accounts.User",
        "Staff account",
        "Staff with this email address",
        _staff,
        ("email", "full_name", "job_title", "last_login", "date_joined"),
        ("is_active",),
        Erasure.KEEP,
        keep=lambda _row: STAFF_KEPT,
    ),
    Holding(
        "staff_roles",
        "accounts.RoleGrant",
        "Staff roles",
        "Roles of that staff account",
        _by_user("accounts.RoleGrant"),
        ("role",),
        ("granted_at",),
        Erasure.KEEP,
        keep=lambda _row: STAFF_KEPT,
    ),
    Holding(
        "staff_sessions",
        "accounts.StaffSession",
        "Staff sign-ins",
        "Signed-in browsers of that staff account",
        _by_user("accounts.StaffSession"),
        ("signed_in_at", "last_seen_at", "user_agent"),
        (),
        Erasure.KEEP,
        keep=lambda _row: STAFF_KEPT,
    ),
    Holding(
        "staff_authenticators",
        "otp_totp.TOTPDevice",
        "Authenticator apps",
        "Authenticators of that staff account (names only, never the secret)",
        _by_user("otp_totp.TOTPDevice"),
        ("name", "last_used_at"),
        (),
        Erasure.KEEP,
        keep=lambda _row: STAFF_KEPT,
    ),
    Holding(
        "staff_recovery_codes",
        "otp_static.StaticDevice",
        "Recovery codes",
        "Recovery codes of that staff account (never the codes)",
        _by_user("otp_static.StaticDevice"),
        ("name", "last_used_at"),
        (),
        Erasure.KEEP,
        keep=lambda _row: STAFF_KEPT,
    ),
    Holding(
        "sign_in_attempts",
        "axes.AccessAttempt",
        "Failed sign-in attempts",
        "Attempts to sign in as that staff account",
        _sign_ins("axes.AccessAttempt"),
        ("username", "ip_address", "user_agent"),
        ("attempt_time", "failures_since_start"),
        Erasure.KEEP,
        keep=lambda _row: SECURITY_KEPT,
    ),
    Holding(
        "sign_in_failures",
        "axes.AccessFailureLog",
        "Failed sign-ins",
        "Failed sign-ins to that staff account",
        _sign_ins("axes.AccessFailureLog"),
        ("username", "ip_address", "user_agent"),
        ("attempt_time", "locked_out"),
        Erasure.KEEP,
        keep=lambda _row: SECURITY_KEPT,
    ),
    Holding(
        "sign_in_log",
        "axes.AccessLog",
        "Sign-ins",
        "Sign-ins to that staff account",
        _sign_ins("axes.AccessLog"),
        ("username", "ip_address", "user_agent"),
        ("attempt_time", "logout_time"),
        Erasure.KEEP,
        keep=lambda _row: SECURITY_KEPT,
    ),
    Holding(
        "admin_log",
        "admin.LogEntry",
        "Admin site changes naming the address",
        "Entries of the admin site whose description contains the address",
        lambda org, address: rows("admin.LogEntry").filter(
            user__organisation_id=org, object_repr__icontains=address
        ),
        ("object_repr", "change_message"),
        ("action_time",),
    ),
    Holding(
        "invitations",
        "invitations.Invitation",
        "Invitations",
        "Invitations to this address (a child invited through a parent's address included)",
        _own_invitations,
        (
            "name",
            "email",
            "role",
            "parent_name",
            "parent_email",
            "needs_supervision",
            "created_at",
            "access_sent_at",
            "revoked_at",
            "passcode_failures",
            "passcode_locked_until",
        ),
        ("meeting",),
    ),
    Holding(
        "children_invited",
        "invitations.Invitation",
        "Children's invitations naming them as parent or carer",
        "Invitations whose parent or carer address is this one",
        lambda org, address: (
            rows("invitations.Invitation")
            .filter(meeting__organisation_id=org, parent_email__iexact=address)
            .exclude(email__iexact=address)
        ),
        ("parent_name", "parent_email"),
        ("meeting",),
        Erasure.BLANK,
        blank=("parent_name", "parent_email"),
    ),
    Holding(
        "consent_requests",
        "consent.ConsentRequest",
        "Consent links sent",
        "Consent emails to this address, and for this address's invitations",
        lambda org, address: rows("consent.ConsentRequest").filter(
            Q(invitation__in=_own_invitations(org, address))
            | Q(invitation__meeting__organisation_id=org, sent_to__iexact=address)
        ),
        ("sent_to", "created_at"),
        ("reason", "used_at"),
        Erasure.BLANK,
        blank=("sent_to",),
    ),
    Holding(
        "consents",
        "consent.Consent",
        "Agreements to house rules, with access needs",
        "Consents given by this address, and consents for this address's invitations",
        lambda org, address: rows("consent.Consent").filter(
            Q(invitation__in=_own_invitations(org, address))
            | Q(invitation__meeting__organisation_id=org, given_by_email__iexact=address)
        ),
        (
            "given_by_name",
            "given_by_email",
            "on_behalf_of_child",
            "supervising_adult",
            "need_interpreter",
            "interpreter_language",
            "need_captions",
            "need_easy_read",
            "need_breaks",
            "other_needs",
            "show_on_screen",
            "given_at",
            "voided_at",
        ),
        ("invitation", "rules_version", "rules_sha256"),
        Erasure.PSEUDONYMISE,
        blank=("given_by_name", "given_by_email"),
    ),
    Holding(
        "participants",
        "room.Participant",
        "Times in meetings",
        "Each connection of this address's invitations to a meeting",
        lambda org, address: rows("room.Participant").filter(
            invitation__in=_own_invitations(org, address)
        ),
        (
            "name",
            "state",
            "left_because",
            "second_device",
            "arrived_while_locked",
            "host_muted",
            "muted_on_entry",
            "camera_off_on_entry",
            "hand_raised_at",
            "connected_at",
            "admitted_at",
            "left_at",
        ),
        ("meeting",),
    ),
    Holding(
        "chat",
        "chat.ChatMessage",
        "Chat messages in a meeting now running",
        "Messages written through this address's invitations (chat rows exist only "
        "while a meeting runs; then they are in its transcript)",
        lambda org, address: rows("chat.ChatMessage").filter(
            participant__invitation__in=_own_invitations(org, address)
        ),
        ("author_name", "text", "created_at"),
        ("meeting",),
    ),
    Holding(
        "removals",
        "bans.Removal",
        "Removals from a meeting",
        "Removals of this address",
        lambda org, address: rows("bans.Removal").filter(
            meeting__organisation_id=org, email__iexact=address
        ),
        ("email", "reason", "created_at"),
        ("meeting",),
        keep=_keep_open_meeting_removal,
    ),
    Holding(
        "bans",
        "bans.Ban",
        "Bans",
        "Bans of this address from the organisation's meetings",
        lambda org, address: rows("bans.Ban").filter(organisation_id=org, email__iexact=address),
        ("email", "reason", "created_at", "review_on", "lifted_at", "lapsed", "lift_reason"),
        ("meeting",),
        keep=_keep_active_ban,
    ),
    Holding(
        "audit_notes",
        "audit.AuditNote",
        "Words in the audit log",
        "Free text audit entries refer to about this address (reasons, document names)",
        lambda org, address: rows("audit.AuditNote").filter(
            organisation_id=org, subject_ref=_pseudonym(address)
        ),
        ("text", "created_at"),
    ),
)

# Kept in a form of their own: transcripts (records/subject.py decrypts and redacts the
# person's lines), the audit log (kept under a pseudonym) and attendee sessions (deleted
# by erasure, holding only row numbers). Each is listed here so the registry test can
# check that every model with a personal field is reached.
SPECIAL: dict[str, str] = {
    "records.Transcript": "The person's own lines, decrypted through haven/records",
    "audit.AuditEvent": "Entries naming the person's pseudonym; kept (D5)",
    "audit.AuditIdentity": "The row that says who the pseudonym is; deleted by erasure",
    "sessions.Session": "Attendee sessions for the person's invitations; deleted by erasure",
    "otp_static.StaticToken": "Recovery codes: secrets, kept with the staff account",
}


def unregistered_fields(models: Iterable[type[Model]]) -> list[str]:
    """Fields the registry does not know, or knows twice: "app.Model.field" for each."""
    problems = []
    for each in models:
        label = each._meta.label
        personal = PERSONAL.get(label, {})
        not_personal = NOT_PERSONAL.get(label, {})
        for model_field in each._meta.concrete_fields:
            name = model_field.name
            if (name in personal) == (name in not_personal):
                problems.append(f"{label}.{name}")
    return problems


def stale_entries(models: Iterable[type[Model]]) -> list[str]:
    """Registry entries for fields or models that do not exist (renamed or removed)."""
    fields = {(each._meta.label, f.name) for each in models for f in each._meta.concrete_fields}
    entries = {
        (label, name)
        for table in (PERSONAL, NOT_PERSONAL)
        for label in table
        for name in table[label]
    }
    return sorted(f"{label}.{name}" for label, name in entries - fields)


def all_models() -> list[type[Model]]:
    """Every model in the project, the many-to-many tables Django makes included."""
    return list(_models().values())
