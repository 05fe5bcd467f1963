"""The permission table (rule P2) and the password checks (ASVS 6.2), as plain functions."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from zxcvbn import zxcvbn

from haven.accounts.models import User
from haven.accounts.passwords import CHECKED_LENGTH, MINIMUM_SCORE, BreachedPasswordValidator
from haven.accounts.permissions import (
    ROLE_PERMISSIONS,
    Permission,
    StaffRole,
    has_permission,
    oversees_policy,
    permissions_for,
)


def _user(*roles: str, active: bool = True) -> SimpleNamespace:
    return SimpleNamespace(is_authenticated=True, is_active=active, role_names=frozenset(roles))


def test_P2_every_role_has_a_named_permission_set():
    assert set(ROLE_PERMISSIONS) == set(StaffRole)


def test_P2_coordinators_and_administrators_manage_policy_staff_and_bans():
    for role in (StaffRole.COORDINATOR, StaffRole.ADMINISTRATOR):
        granted = permissions_for([role])
        assert {
            Permission.MANAGE_POLICY,
            Permission.MANAGE_STAFF,
            Permission.MANAGE_BANS,
        } <= granted
        assert Permission.HOST_MEETINGS not in granted


def test_P2_the_service_manager_reads_everything_and_changes_nothing():
    granted = permissions_for([StaffRole.SERVICE_MANAGER])
    assert {Permission.VIEW_AUDIT, Permission.VIEW_POLICY, Permission.VIEW_STAFF} <= granted
    assert not {p for p in granted if not p.value.split(".")[1].startswith("view")}


def test_U1_only_the_host_role_hosts():
    hosts = [role for role in StaffRole if Permission.HOST_MEETINGS in permissions_for([role])]
    assert hosts == [StaffRole.HOST]


def test_roles_add_up():
    assert permissions_for(["host", "coordinator"]) == (
        ROLE_PERMISSIONS[StaffRole.HOST] | ROLE_PERMISSIONS[StaffRole.COORDINATOR]
    )


def test_it_denies_by_default():
    assert permissions_for([]) == frozenset()
    assert permissions_for(["superuser", "owner", ""]) == frozenset()
    assert not has_permission(None, Permission.VIEW_POLICY)
    assert not has_permission(SimpleNamespace(is_authenticated=False), Permission.VIEW_POLICY)
    assert not has_permission(_user("coordinator", active=False), Permission.VIEW_POLICY)
    assert has_permission(_user("coordinator"), Permission.VIEW_POLICY)


def test_P1_overseers_are_told_about_the_review_date_and_hosts_are_not():
    assert oversees_policy(_user("service_manager"))
    assert oversees_policy(_user("host", "administrator"))
    assert not oversees_policy(_user("host"))


@pytest.mark.parametrize(
    "password",
    ["football1234", "qwertyuiopasdf", "passwordpassword", "aaaaaaaaaaaaaaaa", "123456789012"],
)
def test_guessable_and_breached_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        BreachedPasswordValidator().validate(password)


def test_a_password_made_of_the_persons_own_name_is_refused():
    person = User(email="jordan.whitfield@example.org", full_name="Jordan Whitfield")
    with pytest.raises(ValidationError) as refused:
        validate_password("jordanwhitfield2", person)
    assert "too similar to the" in " ".join(refused.value.messages)


@pytest.mark.parametrize(
    "password", ["correct horse battery staple 42", "quiet orange kettle harbour"]
)
def test_long_unrelated_words_are_accepted(password):
    # Strong enough for the validator's own measure, and every validator in the settings
    # (length, similarity to the person, common passwords, breaches) lets it through.
    assert zxcvbn(password[:CHECKED_LENGTH])["score"] >= MINIMUM_SCORE
    person = User(email="jordan.whitfield@example.org", full_name="Jordan Whitfield")
    try:
        validate_password(password, person)
    except ValidationError as refused:
        pytest.fail(f"{password!r} was refused: {refused.messages}")
