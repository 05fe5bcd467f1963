"""Several organisations on one deployment (issue 7, item 7; rule P2): each has its own
policy, staff, meetings and data, and none can reach another's.

Staff of organisation B, whatever their roles, get the same "not found" page for
organisation A's objects as for an object that does not exist, their actions change
nothing, their lists never show A's rows, and the meeting WebSocket refuses them.
"""

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from tests.harness import database, flows
from tests.harness.staff import (
    Staff,
    draft_form_data,
    found,
    new_organisation,
    post_action,
    sign_in_staff,
    staff_row,
)

pytestmark = pytest.mark.live

ROLES = ("host", "coordinator", "administrator", "service_manager")
CSRF_VALUE = re.compile(r'value="[A-Za-z0-9]{64}"')
MISSING_MEETING = "00000000-0000-4000-8000-000000000000"


def _normalised(html: str) -> str:
    return CSRF_VALUE.sub('value=""', html)


def _number(value: object) -> int:
    assert isinstance(value, int), value
    return value


@dataclass
class Organisation:
    slug: str
    id: int
    controller: str
    contact: str
    boss: Staff  # every role
    meeting: str
    meeting_title: str


@dataclass
class World:
    a: Organisation
    b: Organisation
    b_staff: dict[str, Staff]  # one per role, and "all" with every role
    invitee: flows.Invited
    invitation_id: int
    attendee: Any  # httpx.Client of A's invitee, passcode entered
    target: str
    target_id: int
    pending: str
    pending_id: int
    draft_id: str
    discard_id: str
    version_id: str
    ban_id: int
    ban_email: str
    ended: str  # A's meeting that ended with its transcript kept


def _organisation(stack, letter: str) -> Organisation:
    controller = f"Controller {letter} {secrets.token_hex(3)}"
    contact = f"privacy-{letter.lower()}-{secrets.token_hex(3)}@example.org"
    slug = new_organisation(stack, controller=controller, contact_email=contact)
    boss = sign_in_staff(stack, f"boss{letter.lower()}", *ROLES, organisation=slug)
    org_id = _number(staff_row(stack, boss.email)["organisation_id"])
    title = f"Review of organisation {letter} {secrets.token_hex(3)}"
    meeting = flows.create_meeting(boss.client, title=title)
    return Organisation(slug, org_id, controller, contact, boss, meeting, title)


def _draft(boss: Staff, version: str) -> str:
    response = flows.post_form(boss.client, "/staff/policy/drafts/new/", draft_form_data(version))
    assert response.status_code == 302, response.text
    return str(response.headers["location"].strip("/").split("/")[-1])


def _ended_with_a_transcript(stack, boss: Staff) -> str:
    meeting = flows.create_meeting(boss.client, title=f"Ended {secrets.token_hex(3)}")
    host = flows.Socket(stack, boss.client, meeting)
    flows.join(host)
    host.send({"type": "chat", "text": "Notes for the case file"})
    host.expect("chat")
    host.send({"type": "end_meeting", "transcript": "keep"})
    host.expect("meeting_ended")
    host.close()
    return meeting


@pytest.fixture(scope="module")
def world(stack) -> World:
    a = _organisation(stack, "A")
    b = _organisation(stack, "B")
    b_staff = {role: sign_in_staff(stack, f"b{role}", role, organisation=b.slug) for role in ROLES}
    b_staff["all"] = b.boss
    invitee = flows.invite(stack, a.boss.client, a.meeting, "Alex Across")
    attendee = flows.enter_passcode(stack, invitee)
    target = flows.unique_email("targeta")
    stack.create_staff(target, roles=("host",), organisation=a.slug)
    pending = flows.unique_email("pendinga")
    invited = flows.post_form(
        a.boss.client,
        "/staff/people/invite/",
        {"full_name": "Pat Pending", "email": pending, "job_title": "Officer", "roles": "host"},
    )
    assert invited.status_code == 302, invited.text
    overview = a.boss.client.get("/staff/policy/").text
    ban_email = flows.unique_email("banneda")
    ban_id = database.insert(
        stack,
        "bans_ban",
        organisation_id=a.id,
        email=ban_email,
        reason="Rude",
        banned_by_id=staff_row(stack, a.boss.email)["id"],
        created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
        lift_reason="",
        review_on=(dt.date.today() + dt.timedelta(days=183)).isoformat(),
        lapsed=False,
    )
    return World(
        ended=_ended_with_a_transcript(stack, a.boss),
        a=a,
        b=b,
        b_staff=b_staff,
        invitee=invitee,
        invitation_id=int(database.invitation(stack, invitee.email)["id"]),
        attendee=attendee,
        target=target,
        target_id=_number(staff_row(stack, target)["id"]),
        pending=pending,
        pending_id=_number(staff_row(stack, pending)["id"]),
        draft_id=_draft(a.boss, "V.5"),
        discard_id=_draft(a.boss, "V.6"),
        version_id=found(r'href="/staff/policy/versions/(\d+)/"', overview),
        ban_id=ban_id,
        ban_email=ban_email,
    )


def _pages(w: World) -> list[str]:
    m, inv = w.a.meeting, w.invitation_id
    return [
        f"/meetings/{m}/",
        f"/meetings/{m}/house-rules/",
        f"/meetings/{m}/time/",
        f"/meetings/{m}/cancel/",
        f"/meetings/{m}/documents/",
        f"/meetings/{m}/invitations/{inv}/change/",
        f"/records/{w.ended}/transcript/",
        f"/records/{w.ended}/transcript.txt",
        f"/staff/evidence/{w.ended}/",
        f"/room/{m}/",
        f"/staff/evidence/{m}/",
        f"/staff/audit/?meeting={m}",
        f"/staff/people/{w.target_id}/",
        f"/staff/people/{w.target_id}/change/",
        f"/staff/policy/versions/{w.version_id}/",
        f"/staff/policy/drafts/{w.draft_id}/",
        f"/staff/bans/{w.ban_id}/lift/",
    ]


def _actions(w: World) -> list[tuple[str, dict[str, str]]]:
    m, inv = w.a.meeting, w.invitation_id
    return [
        (
            f"/meetings/{m}/",
            {"name": "Intruder", "email": flows.unique_email("x"), "role": "professional"},
        ),
        (f"/meetings/{m}/house-rules/", {"text": "- Changed.", "easy_read": "- Changed."}),
        (f"/meetings/{m}/time/", {"starts_at": "2031-01-15T10:00", "duration_minutes": "30"}),
        (f"/meetings/{m}/cancel/", {}),
        (f"/meetings/{m}/documents/", {"recipients": str(inv)}),
        (f"/meetings/{m}/invitations/{inv}/change/", {"name": "Renamed", "role": "professional"}),
        (f"/meetings/{m}/invitations/{inv}/resend/", {}),
        (f"/meetings/{m}/invitations/{inv}/cancel/", {}),
        (f"/records/{w.ended}/transcript/destroy/", {}),
        (f"/staff/people/{w.target_id}/change/", {"job_title": "Mole", "roles": "coordinator"}),
        (f"/staff/people/{w.target_id}/deactivate/", {}),
        (f"/staff/people/{w.target_id}/reactivate/", {}),
        (f"/staff/people/{w.pending_id}/setup-link/", {}),
        (f"/staff/policy/drafts/{w.draft_id}/", draft_form_data("V.9")),
        (f"/staff/policy/drafts/{w.draft_id}/publish/", {}),
        (f"/staff/policy/drafts/{w.discard_id}/discard/", {}),
        (f"/staff/bans/{w.ban_id}/lift/", {"reason": "Lifted from elsewhere"}),
    ]


def _snapshot(stack, w: World) -> dict[str, list[dict[str, Any]]]:
    """Every row of organisation A that a reach across could change."""
    [meeting] = database.query(
        stack, "SELECT id FROM meetings_meeting WHERE title = ?", w.a.meeting_title
    )
    meeting_id = meeting["id"]
    users = "SELECT id FROM accounts_user WHERE organisation_id = ?"
    return {
        "meeting": database.query(stack, "SELECT * FROM meetings_meeting WHERE id = ?", meeting_id),
        "house rules": database.query(
            stack, "SELECT * FROM meetings_houserules WHERE meeting_id = ? ORDER BY id", meeting_id
        ),
        "invitations": database.query(
            stack,
            "SELECT * FROM invitations_invitation WHERE meeting_id = ? ORDER BY id",
            meeting_id,
        ),
        "audit of the meeting": database.query(
            stack, "SELECT id, action FROM audit_auditevent WHERE meeting_id = ?", meeting_id
        ),
        "staff": database.query(
            stack,
            "SELECT id, email, job_title, is_active, password FROM accounts_user "
            "WHERE organisation_id = ? ORDER BY id",
            w.a.id,
        ),
        "roles": database.query(
            stack,
            f"SELECT * FROM accounts_rolegrant WHERE user_id IN ({users}) ORDER BY id",  # noqa: S608
            w.a.id,
        ),
        "set-up links": database.query(
            stack,
            f"SELECT * FROM accounts_staffsetuplink WHERE user_id IN ({users}) ORDER BY id",  # noqa: S608
            w.a.id,
        ),
        "drafts": database.query(
            stack,
            "SELECT * FROM policy_policydraft WHERE organisation_id = ? ORDER BY id",
            w.a.id,
        ),
        "versions": database.query(
            stack,
            "SELECT * FROM policy_policyversion WHERE organisation_id = ? ORDER BY id",
            w.a.id,
        ),
        "transcripts": database.query(
            stack,
            "SELECT t.* FROM records_transcript t JOIN meetings_meeting m "
            "ON m.id = t.meeting_id WHERE m.organisation_id = ? ORDER BY t.id",
            w.a.id,
        ),
        "bans": database.query(
            stack, "SELECT * FROM bans_ban WHERE organisation_id = ? ORDER BY id", w.a.id
        ),
    }


@pytest.mark.parametrize("who", [*ROLES, "all"])
def test_P2_staff_of_another_organisation_find_nothing_and_change_nothing(stack, world, who):
    w = world
    roles = ROLES if who == "all" else (who,)
    # Signed in now: the sensitive pages ask for the password again after a few minutes.
    client = sign_in_staff(stack, f"b{who}", *roles, organisation=w.b.slug).client
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    before = _snapshot(stack, w)
    for path in _pages(w):
        response = client.get(path)
        assert response.status_code == 404, (who, path, response.status_code)
        assert _normalised(response.text) == _normalised(missing.text), (who, path)
    for path, data in _actions(w):
        response = post_action(client, path, data)
        assert response.status_code == 404, (who, path, response.status_code)
        assert _normalised(response.text) == _normalised(missing.text), (who, path)
    assert _snapshot(stack, w) == before
    # The same pages work for organisation A's own staff: the 404s above were not an
    # accident of the addresses.
    for path in _pages(w):
        if "/room/" in path:
            continue  # the room is a page of its own (below)
        assert w.a.boss.client.get(path).status_code != 404, path


def test_P2_another_organisations_audit_filter_is_refused(stack, world):
    """The audit log's meeting filter offers and accepts only the organisation's meetings."""
    manager = world.b_staff["service_manager"].client
    page = manager.get("/staff/audit/")
    assert page.status_code == 200
    assert world.a.meeting not in page.text and world.b.meeting in page.text
    response = post_action(manager, "/staff/audit/", {"meeting": world.a.meeting}, "/staff/audit/")
    assert response.status_code == 400
    allowed = post_action(manager, "/staff/audit/", {"meeting": world.b.meeting}, "/staff/audit/")
    assert allowed.status_code == 302
    assert allowed.headers["location"] == f"/staff/audit/?meeting={world.b.meeting}"


def test_P2_lists_show_only_the_organisations_own_rows(stack, world):
    w = world
    b = w.b.boss.client
    a_marks = [w.a.meeting, w.a.meeting_title, w.a.boss.email, w.target, w.pending, w.ban_email]
    a_marks += [w.invitee.email, w.invitee.name]
    for path in ("/staff/", "/meetings/", "/staff/bans/", "/staff/people/", "/staff/audit/"):
        text = b.get(path).text
        for mark in a_marks:
            assert mark not in text, (path, mark)
    evidence = b.get("/staff/evidence/").text
    assert w.a.meeting not in evidence and w.a.meeting_title not in evidence
    assert w.b.meeting in evidence  # the list is not simply empty
    assert w.b.meeting_title in b.get("/meetings/").text
    assert w.b.boss.email in b.get("/staff/people/").text
    # And organisation A's own lists do show them.
    a = w.a.boss.client
    assert w.target in a.get("/staff/people/").text
    assert w.ban_email in a.get("/staff/bans/").text
    assert w.a.meeting in a.get("/staff/evidence/").text
    assert w.a.meeting_title in a.get("/staff/").text


def test_P1_each_organisation_has_its_own_privacy_notice_and_policy(stack, world):
    a, b = world.a, world.b
    for mine, theirs in ((a, b), (b, a)):
        notice = stack.http().get(f"/privacy/{mine.slug}/")
        assert notice.status_code == 200
        assert mine.controller in notice.text and mine.contact in notice.text
        assert theirs.controller not in notice.text and theirs.contact not in notice.text
    # A meeting records its own organisation's policy version (rule P1).
    for org in (a, b):
        [row] = database.query(
            stack,
            "SELECT v.organisation_id AS org, v.controller AS controller FROM meetings_meeting m "
            "JOIN policy_policyversion v ON v.id = m.policy_id WHERE m.title = ?",
            org.meeting_title,
        )
        assert row["org"] == org.id and row["controller"] == org.controller
    # Staff pages name their own organisation's contact.
    assert b.contact in b.boss.client.get("/staff/").text
    assert a.contact not in b.boss.client.get("/staff/").text
    # Organisation A's invitee's emails name A's contact, never B's.
    for message in flows.mails_to(stack, world.invitee.email, ""):
        text = flows.text_of(message)
        assert a.contact in text and b.contact not in text


def _refused(stack, client, meeting: str) -> int:
    with pytest.raises(InvalidStatus) as refused:
        flows.Socket(stack, client, meeting)
    return refused.value.response.status_code


def test_U1_another_organisations_host_cannot_open_the_meeting_room(stack, world):
    b_host = world.b_staff["host"].client
    assert _refused(stack, b_host, world.a.meeting) == 403
    assert _refused(stack, world.b.boss.client, world.a.meeting) == 403
    assert b_host.get(f"/room/{world.a.meeting}/").status_code == 404
    # Their own meeting opens, and A's host opens A's.
    flows.greet(flows.Socket(stack, world.b.boss.client, world.b.meeting))
    flows.greet(flows.Socket(stack, world.a.boss.client, world.a.meeting))


def test_S1_an_attendee_link_works_only_for_its_own_meeting(stack, world):
    attendee = world.attendee
    assert _refused(stack, attendee, world.b.meeting) == 403
    assert attendee.get(f"/room/{world.b.meeting}/").status_code == 404
    assert _refused(stack, attendee, MISSING_MEETING) == 403
    assert attendee.get(f"/room/{world.a.meeting}/").status_code == 200
    flows.greet(flows.Socket(stack, attendee, world.a.meeting))


def test_D5_the_audit_filter_never_names_a_person_from_another_organisation(stack, world):
    """Who a pseudonym is, is shared by the deployment's log; another organisation's
    service manager who types the address learns no name from it."""
    manager = world.b_staff["service_manager"].client
    # B's coordinator looks the address up: that request is in B's log, naming the person.
    looked_up = post_action(
        world.b_staff["coordinator"].client,
        "/staff/subject-access/",
        {"email": world.invitee.email},
        "/staff/subject-access/",
    )
    assert looked_up.status_code == 200
    assert world.invitee.name not in looked_up.text  # subject access is scoped (rule D4)
    response = post_action(
        manager, "/staff/audit/", {"email": world.invitee.email}, "/staff/audit/"
    )
    assert response.status_code == 302
    page = manager.get(response.headers["location"])
    assert page.status_code == 200
    assert world.invitee.name not in page.text and world.invitee.email not in page.text
    assert "does not name" in page.text
    # Organisation A's own service manager sees who it is.
    own = post_action(
        world.a.boss.client, "/staff/audit/", {"email": world.invitee.email}, "/staff/audit/"
    )
    assert world.invitee.name in world.a.boss.client.get(own.headers["location"]).text
