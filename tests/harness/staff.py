"""Staff in tests: signing in (browser), organisations of their own, ageing sessions."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

import httpx
from playwright.sync_api import Page, expect

from haven.policy.loader import DEFAULT_POLICY_FILE
from tests.harness import database, flows, totp
from tests.harness.browser import axe_violations
from tests.harness.stack import Stack


@dataclass(frozen=True)
class Staff:
    client: httpx.Client
    email: str
    password: str
    organisation: str


def new_organisation(stack: Stack, *, controller: str = "", contact_email: str = "") -> str:
    """A fresh organisation with the service's policy V.01, so a test can publish new
    versions without changing the policy other tests see; its controller and contact
    address changed if given. Returns its slug."""
    slug = f"test-org-{secrets.token_hex(4)}"
    text = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^slug = ".*"$', f'slug = "{slug}"', text, count=1)
    text = re.sub(r'(?m)^name = "SENDIASS Leicester"$', f'name = "Test {slug}"', text, count=1)
    if controller:
        text = re.sub(r'(?m)^controller = ".*"$', f'controller = "{controller}"', text, count=1)
    if contact_email:
        text = re.sub(
            r'(?m)^contact_email = ".*"$', f'contact_email = "{contact_email}"', text, count=1
        )
    path = stack.folder / f"{slug}.toml"
    path.write_text(text, encoding="utf-8")
    stack.manage("load_policy", str(path))
    return slug


def sign_in_staff(
    stack: Stack, who: str, *roles: str, organisation: str = "sendiass-leicester"
) -> Staff:
    """A new member of staff with these roles, signed in over HTTP with both factors."""
    email = flows.unique_email(who)
    password = stack.create_staff(email, roles=roles, organisation=organisation)
    client = stack.http()
    flows.sign_in_with(client, email, password)
    return Staff(client, email, password, organisation)


def sign_in_browser(
    page: Page, stack: Stack, email: str, password: str, *, lands_on: str = "Your dashboard"
) -> None:
    """Sign in as a person would: password page, then the code page; both axe-clean."""
    page.goto(f"{stack.base_url}/accounts/login/")
    assert axe_violations(page) == [], "axe-core violations on the sign-in page"
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    assert axe_violations(page) == [], "axe-core violations on the code page"
    page.get_by_label("Code").fill(totp.fresh_code(email))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name=lands_on)).to_be_visible()


def age_sessions(stack: Stack, email: str, column: str, by: dt.timedelta) -> None:
    """Move a timestamp of every staff session of this person into the past, as if that
    much time had gone by (the live server reads these on every request)."""
    assert column in {"signed_in_at", "last_seen_at", "reauthenticated_at"}
    when = (dt.datetime.now(dt.UTC) - by).strftime("%Y-%m-%d %H:%M:%S.%f")
    changed = database.execute(
        stack,
        f"UPDATE accounts_staffsession SET {column} = ? "  # noqa: S608 (column is checked)
        "WHERE user_id = (SELECT id FROM accounts_user WHERE email = ?)",
        when,
        email.lower(),
    )
    assert changed, f"{email} has no staff session"


def staff_session_count(stack: Stack, email: str) -> int:
    [row] = database.query(
        stack,
        "SELECT COUNT(*) AS n FROM accounts_staffsession s JOIN accounts_user u "
        "ON u.id = s.user_id WHERE u.email = ?",
        email.lower(),
    )
    return int(row["n"])


def post_action(
    client: httpx.Client, url: str, data: dict[str, str] | None = None, page: str = "/accounts/"
) -> httpx.Response:
    """Press a button that posts to a POST-only address, with a CSRF token from a page."""
    match = flows.CSRF.search(client.get(page).text)
    assert match, f"no CSRF token on {page}"
    return client.post(url, data={"csrfmiddlewaretoken": match.group(1), **(data or {})})


def staff_row(stack: Stack, email: str) -> dict[str, object]:
    """The live database's row for one staff account (id, is_active, job_title, ...)."""
    rows = database.query(stack, "SELECT * FROM accounts_user WHERE email = ?", email.lower())
    assert rows, f"no staff account {email}"
    return rows[0]


def draft_form_data(
    version: str, review_date: str = "2030-09-30", **changes: str
) -> dict[str, str]:
    """Everything the policy draft form asks for, filled in as V.01 has it, changed as asked."""
    data = {
        "version": version,
        "review_date": review_date,
        "contact_email": "info@sendiassleicester.org.uk",
        "controller": "SENDIASS Leicester",
        "processor": "The operator of this Haven service",
        "privacy_url": "https://sendiassleicester.org.uk/privacy-policy/",
        "staff_page_url": "https://sendiassleicester.org.uk/about/who-we-are/",
        "retain_invitations_days": "365",
        "retain_consents_days": "365",
        "retain_access_needs_days": "30",
        "end_unended_meetings_after_hours": "12",
        "retain_removals_days": "365",
        "retain_lifted_bans_days": "365",
        "retain_audit_days": "2190",
        "retain_audit_identities_days": "730",
        "retain_staff_sign_in_days": "30",
        "retain_sign_in_failures_days": "30",
        "retain_emails_days": "30",
        "retain_meetings_days": "730",
        "retain_house_rules_days": "365",
        "retain_destroyed_transcripts_days": "365",
        "retain_audit_notes_days": "365",
        "ban_review_days": "183",
    }
    defaults = {
        "one_to_one": ("4", False, "365"),
        "appeal_support": ("8", False, "730"),
        "training": ("30", True, "90"),
        "youth_group": ("15", True, "90"),
    }
    for key, (cap, muted, days) in defaults.items():
        data[f"{key}-max_attendees"] = cap
        if muted:
            data[f"{key}-attendees_start_muted"] = "on"
        data[f"{key}-transcript_retention_days"] = days
        data[f"{key}-house_rules"] = f"- Rules for {key}.\n- Be kind."
        data[f"{key}-house_rules_easy_read"] = f"- Rules for {key}.\n- Be kind."
    data.update(changes)
    return {name: value for name, value in data.items() if value != "<omit>"}


def found(pattern: str | re.Pattern[str], text: str) -> str:
    """The first group of the pattern in the text; the test fails if it is not there."""
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found"
    return match.group(1)
