"""The permission matrix (rule P2): every staff role against every staff page and action.

Allowed ones succeed. Everything else gets the same "not found" page as an address that
does not exist, so nobody learns what is there. Forbidden actions change nothing.
"""

import datetime as dt
import re

import pytest

from tests.harness import database, flows
from tests.harness.staff import (
    draft_form_data,
    found,
    new_organisation,
    post_action,
    sign_in_staff,
    staff_row,
)

pytestmark = pytest.mark.live

ALL = {"host", "coordinator", "administrator", "service_manager"}
MANAGERS = {"coordinator", "administrator"}
OVERSEERS = {"coordinator", "administrator", "service_manager"}
EVIDENCE = {"coordinator", "service_manager"}  # and a meeting's own host
ASSURANCE = {"coordinator", "service_manager"}  # the assurance pack (issue 19)
CSRF_VALUE = re.compile(r'value="[A-Za-z0-9]{64}"')


def _normalised(html: str) -> str:
    return CSRF_VALUE.sub('value=""', html)


class World:
    """One organisation with a coordinator-host ("boss") and things to act on."""

    def __init__(self, stack, role: str) -> None:
        self.stack = stack
        self.org = new_organisation(stack)
        self.boss = sign_in_staff(stack, "boss", "coordinator", "host", organisation=self.org)
        self.boss_meeting = flows.create_meeting(self.boss.client)
        self.target = flows.unique_email("target")
        stack.create_staff(self.target, roles=("host",), organisation=self.org)
        self.target_id = staff_row(stack, self.target)["id"]
        self.pending = flows.unique_email("pending")
        invited = flows.post_form(
            self.boss.client,
            "/staff/people/invite/",
            {
                "full_name": "Pat Pending",
                "email": self.pending,
                "job_title": "Officer",
                "roles": "host",
            },
        )
        assert invited.status_code == 302, invited.text
        self.pending_id = staff_row(stack, self.pending)["id"]
        self.draft_id = self._draft("V.5")
        self.discard_id = self._draft("V.6")
        overview = self.boss.client.get("/staff/policy/").text
        self.version_id = found(r'href="/staff/policy/versions/(\d+)/"', overview)
        meetings_page = self.boss.client.get("/staff/").text
        self.type_id = found(r'<option value="(\d+)"', meetings_page)
        self.ban_id = self._ban()
        self.person = sign_in_staff(stack, role, role, organisation=self.org)

    def _ban(self) -> int:
        """A ban in force in this organisation, as a host's ban in a meeting leaves it."""
        boss = staff_row(self.stack, self.boss.email)
        return database.insert(
            self.stack,
            "bans_ban",
            organisation_id=boss["organisation_id"],
            email=flows.unique_email("banned"),
            reason="Rude",
            banned_by_id=boss["id"],
            created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
            lift_reason="",
            review_on=(dt.date.today() + dt.timedelta(days=183)).isoformat(),
            lapsed=False,
        )

    def _draft(self, version: str) -> str:
        response = flows.post_form(
            self.boss.client, "/staff/policy/drafts/new/", draft_form_data(version)
        )
        assert response.status_code == 302, response.text
        return response.headers["location"].strip("/").split("/")[-1]

    def pages(self) -> list[tuple[str, set[str]]]:
        return [
            ("/staff/", ALL),
            ("/accounts/", ALL),
            ("/meetings/", {"host"}),
            (f"/meetings/{self.boss_meeting}/", set()),  # someone else's meeting
            (f"/meetings/{self.boss_meeting}/documents/", set()),  # S4: only its host
            ("/staff/evidence/", EVIDENCE),
            (f"/staff/evidence/{self.boss_meeting}/", EVIDENCE),  # not their own meeting
            ("/staff/assurance/", ASSURANCE),
            ("/staff/assurance/dpia/", ASSURANCE),
            ("/staff/assurance/security-summary/download/", ASSURANCE),
            ("/staff/people/", OVERSEERS),
            (f"/staff/people/{self.target_id}/", OVERSEERS),
            ("/staff/people/invite/", MANAGERS),
            (f"/staff/people/{self.target_id}/change/", MANAGERS),
            ("/staff/audit/", {"service_manager"}),
            ("/staff/policy/", OVERSEERS),
            (f"/staff/policy/versions/{self.version_id}/", OVERSEERS),
            ("/staff/policy/drafts/new/", MANAGERS),
            (f"/staff/policy/drafts/{self.draft_id}/", MANAGERS),
            ("/staff/bans/", OVERSEERS),
            ("/staff/subject-access/", MANAGERS),
            (f"/staff/bans/{self.ban_id}/lift/", MANAGERS),
            (f"/staff/bans/{self.ban_id}/review/", MANAGERS),
        ]

    def actions(self) -> list[tuple[str, dict[str, str], set[str]]]:
        starts = "2030-01-15T10:00"
        return [
            (
                "/meetings/",
                {"title": "Mine", "meeting_type": self.type_id, "starts_at": starts},
                {"host"},
            ),
            (
                "/staff/people/invite/",
                {
                    "full_name": "New Starter",
                    "email": flows.unique_email("starter"),
                    "job_title": "Officer",
                    "roles": "host",
                },
                MANAGERS,
            ),
            (
                f"/staff/people/{self.target_id}/change/",
                {"job_title": "Senior Officer", "roles": "host"},
                MANAGERS,
            ),
            (f"/staff/people/{self.pending_id}/setup-link/", {}, MANAGERS),
            (f"/staff/people/{self.target_id}/deactivate/", {}, MANAGERS),
            (f"/staff/people/{self.target_id}/reactivate/", {}, MANAGERS),
            ("/staff/policy/drafts/new/", draft_form_data("V.7"), MANAGERS),
            (f"/staff/policy/drafts/{self.draft_id}/", draft_form_data("V.5"), MANAGERS),
            (f"/staff/policy/drafts/{self.discard_id}/discard/", {}, MANAGERS),
            (f"/staff/policy/drafts/{self.draft_id}/publish/", {}, MANAGERS),
            (
                f"/staff/bans/{self.ban_id}/review/",
                {
                    "review_on": (dt.date.today() + dt.timedelta(days=300)).isoformat(),
                    "reason": "Still a risk to families",
                },
                MANAGERS,
            ),
            (f"/staff/bans/{self.ban_id}/lift/", {"reason": "Agreed at a review"}, MANAGERS),
            ("/staff/subject-access/", {"email": flows.unique_email("subject")}, MANAGERS),
        ]


def _succeeded(response) -> bool:
    if response.status_code == 200:
        return True
    location = response.headers.get("location", "")
    return response.status_code == 302 and not location.startswith(
        ("/accounts/login/", "/accounts/confirm/")
    )


@pytest.mark.parametrize("role", sorted(ALL))
def test_P2_each_role_reaches_exactly_its_pages_and_actions(stack, role):
    world = World(stack, role)
    client = world.person.client
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    for path, allowed in world.pages():
        response = client.get(path)
        if role in allowed:
            assert _succeeded(response), (role, path, response.status_code)
        else:
            assert response.status_code == 404, (role, path, response.status_code)
            assert _normalised(response.text) == _normalised(missing.text), (role, path)
    for path, data, allowed in world.actions():
        response = post_action(client, path, data)
        if role in allowed:
            assert _succeeded(response), (role, path, response.status_code, response.text[:500])
        else:
            assert response.status_code == 404, (role, path, response.status_code)
            assert _normalised(response.text) == _normalised(missing.text), (role, path)
    target = staff_row(stack, world.target)
    if role in MANAGERS:
        assert target["job_title"] == "Senior Officer" and target["is_active"]
        assert "V.5" in client.get("/staff/policy/").text
        assert "Agreed at a review" in client.get("/staff/bans/").text
    else:  # forbidden actions changed nothing
        assert target["job_title"] == "IASS Officer" and target["is_active"]
        overview = world.boss.client.get("/staff/policy/").text
        assert "Draft V.5" in overview and "Draft V.6" in overview
        assert (
            f'href="/staff/bans/{world.ban_id}/lift/"' in world.boss.client.get("/staff/bans/").text
        )


def test_P2_staff_of_another_organisation_look_missing(stack):
    other = World(stack, "coordinator")
    outsider = sign_in_staff(stack, "outsider", "coordinator", "service_manager")
    for path in (
        f"/staff/people/{other.target_id}/",
        f"/staff/people/{other.target_id}/change/",
        f"/staff/policy/versions/{other.version_id}/",
        f"/staff/policy/drafts/{other.draft_id}/",
    ):
        assert outsider.client.get(path).status_code == 404, path
    for path in (
        f"/staff/people/{other.target_id}/deactivate/",
        f"/staff/policy/drafts/{other.draft_id}/publish/",
    ):
        assert post_action(outsider.client, path).status_code == 404, path
    assert staff_row(stack, other.target)["is_active"]
    assert "Draft V.5" in other.boss.client.get("/staff/policy/").text


def test_U1_only_staff_with_the_host_role_can_host(stack):
    coordinator = sign_in_staff(stack, "nothost", "coordinator")
    host = sign_in_staff(stack, "realhost", "host")
    meeting_id = flows.create_meeting(host.client)
    assert coordinator.client.get("/meetings/").status_code == 404
    assert coordinator.client.get(f"/meetings/{meeting_id}/").status_code == 404
    assert coordinator.client.get(f"/room/{meeting_id}/").status_code == 404
