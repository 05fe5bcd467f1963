"""Writes to staff accounts: check, change, audit, then email after commit."""

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from haven.accounts import emails
from haven.accounts.models import RoleGrant, StaffSetupLink, User
from haven.accounts.permissions import Permission, StaffRole, has_permission, permissions_for
from haven.accounts.signin import end_all_sessions
from haven.audit.log import Actor, record
from haven.policy.models import Organisation

RECOVERY_CODE_COUNT = 10


class StaffError(Exception):
    """The change was refused; the message says why in plain words."""


def _require(actor: User, permission: Permission, member: User | None = None) -> None:
    if not has_permission(actor, permission):
        raise StaffError("You cannot do that.")
    if member is not None and member.organisation_id != actor.organisation_id:
        raise StaffError("You cannot do that.")


def _clean_roles(roles: Iterable[str]) -> list[str]:
    chosen: list[str] = [role.value for role in StaffRole if role.value in set(roles)]
    if not chosen:
        raise StaffError("Choose at least one role.")
    return chosen


def set_roles(user: User, roles: Iterable[str]) -> None:
    """Make the person's roles exactly these (no audit: callers record the change)."""
    chosen = _clean_roles(roles)
    user.role_grants.exclude(role__in=chosen).delete()
    for role in chosen:
        RoleGrant.objects.get_or_create(user=user, role=role)
    user.__dict__.pop("role_names", None)


@transaction.atomic
def create_staff_account(
    organisation: Organisation,
    *,
    email: str,
    full_name: str,
    job_title: str,
    password: str | None,
    roles: Iterable[str] = (StaffRole.HOST,),
) -> User:
    """Make a staff account (management commands and invitations use this)."""
    user = User.objects.create_user(
        email=email,
        password=password,
        full_name=full_name,
        job_title=job_title,
        organisation=organisation,
    )
    set_roles(user, roles)
    return user


def hash_setup_token(token: str) -> str:
    # A 256-bit random token needs no slow hash; SHA-256 lets us look it up.
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _new_setup_link(actor: User, member: User) -> str:
    member.setup_links.filter(used_at__isnull=True).update(used_at=timezone.now())
    token = secrets.token_urlsafe(32)
    StaffSetupLink.objects.create(
        user=member,
        token_sha256=hash_setup_token(token),
        expires_at=timezone.now() + dt.timedelta(hours=settings.HAVEN_STAFF_SETUP_LINK_HOURS),
        created_by=actor,
    )
    return token


@transaction.atomic
def do_invite_staff(
    actor: User, *, full_name: str, email: str, job_title: str, roles: Iterable[str]
) -> User:
    """Make an account with no password yet and email its owner a one-time set-up link."""
    _require(actor, Permission.MANAGE_STAFF)
    if User.objects.filter(email=email.lower()).exists():
        raise StaffError("There is already a staff account with this email.")
    member = create_staff_account(
        actor.organisation,
        email=email,
        full_name=full_name,
        job_title=job_title,
        password=None,
        roles=roles,
    )
    token = _new_setup_link(actor, member)
    record("staff.invited", Actor.staff(actor), staff_id=member.pk, roles=sorted(member.role_names))
    transaction.on_commit(lambda: emails.send_setup_link(member, token, actor))
    return member


@transaction.atomic
def do_resend_setup_link(actor: User, member: User) -> None:
    """A new set-up link for someone who has not chosen a password yet; old ones stop."""
    _require(actor, Permission.MANAGE_STAFF, member)
    if member.has_usable_password():
        raise StaffError(f"{member.full_name} has already set up their account.")
    token = _new_setup_link(actor, member)
    record("staff.setup_link_sent", Actor.staff(actor), staff_id=member.pk)
    transaction.on_commit(lambda: emails.send_setup_link(member, token, actor))


def usable_setup_link(token: str) -> StaffSetupLink | None:
    link = (
        StaffSetupLink.objects.select_related("user")
        .filter(token_sha256=hash_setup_token(token))
        .first()
    )
    if link is None or link.used_at is not None or link.expires_at <= timezone.now():
        return None
    if not link.user.is_active or link.user.has_usable_password():
        return None
    return link


@transaction.atomic
def do_choose_password(link: StaffSetupLink, password: str) -> User:
    """The invited person sets their password; the link never works again."""
    link = StaffSetupLink.objects.select_for_update(no_key=True).get(pk=link.pk)
    if link.used_at is not None:
        raise StaffError("This set-up link has been used already.")
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    member = link.user
    member.set_password(password)
    member.save(update_fields=["password"])
    record("staff.password_set", Actor.staff(member))
    return member


def _managers_left(
    organisation_id: int, without: User, new_roles: Iterable[str], *, stays_active: bool = True
) -> bool:
    """Would someone active still be able to manage staff after this change?"""
    if stays_active and Permission.MANAGE_STAFF in permissions_for(new_roles):
        return True
    others = User.objects.filter(organisation_id=organisation_id, is_active=True).exclude(
        pk=without.pk
    )
    return any(
        Permission.MANAGE_STAFF in permissions_for(other.role_names)
        for other in others.prefetch_related("role_grants")
    )


@transaction.atomic
def do_change_staff(actor: User, member: User, *, job_title: str, roles: Iterable[str]) -> None:
    """Change someone's job title (shown to attendees, U1) and roles (P2)."""
    _require(actor, Permission.MANAGE_STAFF, member)
    chosen = _clean_roles(roles)
    if not _managers_left(member.organisation_id, member, chosen, stays_active=member.is_active):
        raise StaffError(
            "Someone must still be able to manage staff: keep at least one active "
            "digital coordinator or administrator."
        )
    before = {"job_title": member.job_title, "roles": sorted(member.role_names)}
    member.job_title = job_title
    member.save(update_fields=["job_title"])
    set_roles(member, chosen)
    after = {"job_title": job_title, "roles": sorted(chosen)}
    if before != after:
        record("staff.changed", Actor.staff(actor), staff_id=member.pk, before=before, after=after)


@transaction.atomic
def do_deactivate(actor: User, member: User) -> int:
    """Stop someone signing in, and end every session they have at once (ASVS 7.4.2)."""
    _require(actor, Permission.MANAGE_STAFF, member)
    if member.pk == actor.pk:
        raise StaffError("You cannot deactivate your own account.")
    if not member.is_active:
        raise StaffError(f"{member.full_name} is already deactivated.")
    if not _managers_left(member.organisation_id, member, member.role_names, stays_active=False):
        raise StaffError(
            "Someone must still be able to manage staff: keep at least one active "
            "digital coordinator or administrator."
        )
    member.is_active = False
    member.save(update_fields=["is_active"])
    ended = end_all_sessions(member)
    record("staff.deactivated", Actor.staff(actor), staff_id=member.pk, sessions_ended=ended)
    return ended


@transaction.atomic
def do_reactivate(actor: User, member: User) -> None:
    _require(actor, Permission.MANAGE_STAFF, member)
    if member.is_active:
        raise StaffError(f"{member.full_name} is already active.")
    member.is_active = True
    member.save(update_fields=["is_active"])
    record("staff.reactivated", Actor.staff(actor), staff_id=member.pk)


@transaction.atomic
def do_sign_out_everywhere(user: User) -> int:
    """The person ends all of their own sessions, this one included."""
    ended = end_all_sessions(user)
    record("staff.signed_out_everywhere", Actor.staff(user), sessions_ended=ended)
    return ended


@transaction.atomic
def do_new_recovery_codes(user: User) -> list[str]:
    """Replace the person's recovery codes; the old ones stop working. Shown once."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name="Recovery codes", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        device.token_set.create(token=code)
    record("staff.recovery_codes_made", Actor.staff(user))
    return codes
