"""Rule D3: every kind of personal data has a retention period in the policy, and is
destroyed automatically when it ends, by `manage.py destroy_expired` and by the server's
own scheduled job.

There is no clock to move: tests move the data's times into the past instead
(tests/harness/database.py), then let Haven destroy what is due.
"""

import datetime as dt
import html
import json
import os
import re
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from haven.policy.loader import (
    DEFAULT_POLICY_FILE,
    RETENTION_FIELDS,
    PolicyFileError,
    load_policy,
    read_policy_file,
)
from tests.harness import database, flows
from tests.harness.stack import StackError
from tests.harness.staff import (
    age_sessions,
    draft_form_data,
    new_organisation,
    post_action,
    sign_in_staff,
)
from tests.test_in_meeting_protocol import Meeting, admitted, arrive, start_meeting

POLICY = tomllib.loads(
    (Path(__file__).parent.parent / "haven/policy/data/sendiass-leicester-v01.toml").read_text()
)
RETENTION = POLICY["retention"]
ONE_TO_ONE_DAYS = next(
    t["transcript_retention_days"] for t in POLICY["meeting_types"] if t["key"] == "one_to_one"
)
# Every kind the job destroys and counts (with transcripts, kept per meeting type).
KINDS = {
    "meetings_ended",
    "chat_messages",
    "transcripts",
    "access_needs",
    "consents",
    "invitations",
    "removals",
    "house_rules",
    "destroyed_transcripts",
    "meetings",
    "bans_lapsed",
    "bans",
    "audit_notes",
    "audit_events",
    "audit_identities",
    "staff_sessions",
    "staff_setup_links",
    "sign_in_failures",
    "emails",
}
LONG_AGO = 7 * 365  # days: past every period in the policy


@pytest.mark.django_db
def test_D3_the_policy_stores_a_period_for_every_kind_of_personal_data():
    policy = load_policy()
    assert set(RETENTION_FIELDS) == set(RETENTION)
    for key, field in RETENTION_FIELDS.items():
        assert getattr(policy, field) == RETENTION[key], key


def test_D3_a_policy_missing_a_period_or_keeping_a_part_longer_than_its_whole_is_refused(
    tmp_path,
):
    text = DEFAULT_POLICY_FILE.read_text()
    missing = tmp_path / "missing.toml"
    missing.write_text(text.replace("\nemails_days = 30\n", "\n"), encoding="utf-8")
    with pytest.raises(PolicyFileError, match="emails_days"):
        read_policy_file(missing)
    longer = tmp_path / "longer.toml"
    consents = f"consents_days = {RETENTION['consents_days']}\n"
    assert consents in text
    longer.write_text(text.replace(consents, "consents_days = 3000\n"), encoding="utf-8")
    with pytest.raises(PolicyFileError, match="a consent is part of its invitation"):
        read_policy_file(longer)
    forever = tmp_path / "forever.toml"
    forever.write_text(text.replace("audit_days = 2190", "audit_days = 0"), encoding="utf-8")
    with pytest.raises(PolicyFileError, match="audit_days"):
        read_policy_file(forever)


def test_D3_the_privacy_notice_shows_a_period_for_every_kind_of_personal_data(stack):
    page = stack.http().get(f"/privacy/{POLICY['organisation']['slug']}/").text
    table = page.split('<table id="retention-kinds">', 1)[1].split("</table>", 1)[0]
    rows = dict(
        re.findall(r'<tr id="keep-(\w+)"><th scope="row">[^<]+</th><td>([^<]+)</td>', table)
    )
    assert set(rows) == set(RETENTION), "a period in the policy is missing from the notice"
    for key, value in RETENTION.items():
        assert str(value) in html.unescape(rows[key]), key
    # Transcripts: per meeting type, in the table beside it.
    transcripts = page.split('<table id="retention">', 1)[1].split("</table>", 1)[0]
    for meeting_type in POLICY["meeting_types"]:
        assert f"{meeting_type['transcript_retention_days']} days" in transcripts


def test_D3_a_coordinator_sets_the_periods_of_a_new_version_and_its_notice_shows_them(stack):
    org = new_organisation(stack)
    coordinator = sign_in_staff(stack, "coord", "coordinator", organisation=org)
    refused = flows.post_form(
        coordinator.client,
        "/staff/policy/drafts/new/",
        draft_form_data("V.02", retain_consents_days="400", retain_audit_days="0"),
    )
    assert refused.status_code == 200
    assert "An agreement is part of its invitation" in html.unescape(refused.text)
    assert "Ensure this value is greater than or equal to 1." in refused.text
    saved = flows.post_form(
        coordinator.client,
        "/staff/policy/drafts/new/",
        draft_form_data("V.02", retain_access_needs_days="7", retain_emails_days="3"),
    )
    assert saved.status_code == 302, saved.text
    draft = saved.headers["location"]
    assert post_action(coordinator.client, draft + "publish/", page=draft).status_code == 302
    notice = stack.http().get(f"/privacy/{org}/v/V.02/").text
    assert re.search(r'id="keep-access_needs_days">.*?<td>7 days after the meeting<', notice)
    assert re.search(r'id="keep-emails_days">.*?<td>3 days<', notice)
    assert re.search(r'id="keep-audit_days">.*?<td>2190 days<', notice)  # carried over
    first = stack.http().get(f"/privacy/{org}/v/V.01/").text
    assert re.search(r'id="keep-access_needs_days">.*?<td>30 days after the meeting<', first)


def test_D3_destroy_expired_destroys_each_kind_past_its_period_and_keeps_the_rest(stack):
    marker = _newest_audit_id(stack)
    old = _meeting_with_everything(stack, "Long ago")
    recent = _meeting_with_everything(stack, "Last week")
    month = _meeting_with_everything(stack, "Last month", removal_and_ban=False)
    _, stale_email = flows.sign_in(stack, "stale")
    age_sessions(stack, stale_email, "last_seen_at", dt.timedelta(days=40))
    old_guess, new_guess = flows.unique_email("guess-old"), flows.unique_email("guess-new")
    for guess in (old_guess, new_guess):
        flows.post_form(stack.http(), "/accounts/login/", {"username": guess, "password": "nope!"})
    # Copies of sent emails, as the outbox backend (one-machine trials) saves them.
    outbox = stack.folder / "outbox"
    outbox.mkdir(exist_ok=True)
    old_copy, new_copy = outbox / "old.eml", outbox / "new.eml"
    for saved in (old_copy, new_copy):
        saved.write_text("Subject: Your link\n\nA link and passcode.\n")
    # Time passes.
    long_ago = time.time() - (RETENTION["emails_days"] + 1) * 24 * 3600
    os.utime(old_copy, (long_ago, long_ago))
    database.execute(
        stack,
        "UPDATE meetings_meeting SET ended_at = ? WHERE public_id = ?",
        database.days_ago(RETENTION["invitations_days"] + 35),
        _hex(old["meeting"]),
    )
    database.execute(
        stack,
        "UPDATE meetings_meeting SET ended_at = ? WHERE public_id = ?",
        database.days_ago(RETENTION["access_needs_days"] + 10),
        _hex(month["meeting"]),
    )
    database.execute(
        stack,
        "UPDATE records_transcript SET retain_until = '2000-01-01' WHERE meeting_id ="
        " (SELECT id FROM meetings_meeting WHERE public_id = ?)",
        _hex(old["meeting"]),
    )
    database.execute(
        stack,
        "UPDATE bans_removal SET created_at = ? WHERE email = ?",
        database.days_ago(RETENTION["removals_days"] + 1),
        old["removed"],
    )
    database.execute(
        stack,
        "UPDATE bans_ban SET lifted_at = ?, lift_reason = 'Apologised.' WHERE email = ?",
        database.days_ago(RETENTION["lifted_bans_days"] + 1),
        old["banned"],
    )
    # A ban still in force is kept however old it is.
    database.execute(
        stack,
        "UPDATE bans_ban SET created_at = ? WHERE email = ?",
        database.days_ago(LONG_AGO),
        recent["banned"],
    )
    database.execute(
        stack,
        "UPDATE axes_accessattempt SET attempt_time = ? WHERE username = ?",
        database.days_ago(RETENTION["sign_in_failures_days"] + 1),
        old_guess,
    )
    database.execute(
        stack,
        "UPDATE axes_accessfailurelog SET attempt_time = ? WHERE username = ?",
        database.days_ago(RETENTION["sign_in_failures_days"] + 1),
        old_guess,
    )

    output = stack.manage("destroy_expired")

    printed = dict(re.findall(r"^(\w+): (\d+)", output, re.MULTILINE))
    assert set(printed) == KINDS, output
    # Long ago: everything about that meeting's people is gone; the transcript and its key too.
    assert not _invitations(stack, old["emails"])
    assert not _consents(stack, old["emails"])
    assert not database.query(
        stack, "SELECT id FROM consent_consentrequest WHERE sent_to = ?", old["needs"]
    )
    assert _transcript(stack, old["meeting"])["ciphertext"] is None
    assert not _transcript_keys(stack, old["meeting"])
    assert not database.query(stack, "SELECT id FROM bans_removal WHERE email = ?", old["removed"])
    assert not database.query(stack, "SELECT id FROM bans_ban WHERE email = ?", old["banned"])
    assert not _sessions(stack, stale_email)
    assert not old_copy.exists() and new_copy.exists()
    for table in ("axes_accessattempt", "axes_accessfailurelog"):
        assert not database.query(stack, f"SELECT id FROM {table} WHERE username = ?", old_guess)  # noqa: S608
    # Last month: still invited and agreed, but what they needed to take part is cleared.
    [consent] = _consents(stack, [month["needs"]])
    assert _invitations(stack, [month["needs"]])
    assert (consent["need_captions"], consent["other_needs"], consent["show_on_screen"]) == (
        0,
        "",
        "",
    )
    # Last week: all kept.
    assert len(_invitations(stack, recent["emails"])) == 3
    [kept] = _consents(stack, [recent["needs"]])
    assert kept["need_captions"] == 1 and kept["other_needs"] == "A quiet start"
    assert _transcript(stack, recent["meeting"])["ciphertext"] is not None
    assert _transcript_keys(stack, recent["meeting"])
    assert database.query(stack, "SELECT id FROM bans_removal WHERE email = ?", recent["removed"])
    assert database.query(
        stack, "SELECT id FROM bans_ban WHERE email = ? AND lifted_at IS NULL", recent["banned"]
    )
    assert database.query(
        stack,
        "SELECT s.id FROM accounts_staffsession s JOIN meetings_meeting m"
        " ON m.host_id = s.user_id WHERE m.public_id = ?",
        _hex(recent["meeting"]),
    )
    assert database.query(stack, "SELECT id FROM axes_accessattempt WHERE username = ?", new_guess)
    # Each run is audited with counts, never content (the server's own job may have
    # destroyed some of it first: the runs together destroyed every kind seeded).
    runs = [r for r in stack.audit("retention.ran") if r["id"] > marker]
    assert any(json.loads(r["details"])["trigger"] == "command" for r in runs)
    totals = {kind: sum(json.loads(r["details"])["counts"][kind] for r in runs) for kind in KINDS}
    for kind in (
        "transcripts",
        "access_needs",
        "consents",
        "invitations",
        "removals",
        "bans",
        "staff_sessions",
        "sign_in_failures",
        "emails",
    ):
        assert totals[kind] >= 1, kind
    everything_audited = json.dumps(runs)
    assert not any(e in everything_audited for e in [*old["emails"], old_guess, "A quiet start"])
    # Idempotent: a second run finds nothing more.
    again = dict(re.findall(r"^(\w+): (\d+)", stack.manage("destroy_expired"), re.MULTILINE))
    assert set(again) == KINDS and set(again.values()) == {"0"}, again
    assert "The audit log is intact" in stack.manage("verify_audit")


def test_D3_old_audit_events_are_destroyed_and_the_chain_still_verifies(stack, tmp_path):
    host, _ = flows.sign_in(stack, "old-host")
    old_person = flows.invite(stack, host, flows.create_meeting(host))
    through = _newest_audit_id(stack)
    recent_host, recent_email = flows.sign_in(stack, "recent-host")
    flows.create_meeting(recent_host)
    database.backdate_audit(stack, through, days=LONG_AGO)

    stack.manage("destroy_expired")

    assert not database.query(stack, "SELECT id FROM audit_auditevent WHERE id <= ?", through)
    assert database.query(stack, "SELECT id FROM audit_auditevent WHERE id > ?", through)
    [anchor] = database.query(stack, "SELECT * FROM audit_auditanchor")
    assert anchor["through_id"] == through
    sealed = json.loads(stack.audit("audit.expired")[-1]["details"])
    assert sealed["anchor"] == anchor["last_hash"] and sealed["through_id"] == through
    assert "The audit log is intact" in stack.manage("verify_audit")
    # Who a pseudonym is goes when nothing recent names them; recent people stay known.
    labels = [r["label"] for r in database.query(stack, "SELECT label FROM audit_auditidentity")]
    assert not any(old_person.email in label for label in labels)
    assert any(recent_email in label for label in labels)
    # The anchor is sealed in the chain: moving it past more events is found.
    with database.copy_of(stack, tmp_path) as copy:
        [first] = database.query(copy, "SELECT id, hash FROM audit_auditevent ORDER BY id LIMIT 1")
        database.execute(copy, "DELETE FROM audit_auditevent WHERE id = ?", first["id"])
        database.execute(
            copy,
            "UPDATE audit_auditanchor SET last_hash = ?, through_id = ?",
            first["hash"],
            first["id"],
        )
        with pytest.raises(StackError, match="the record of destroyed old events was changed"):
            stack.manage("verify_audit", extra_env=copy.env)


def test_D3_audit_events_backdated_behind_the_chain_are_never_destroyed(stack, tmp_path):
    flows.sign_in(stack, "someone")
    with database.copy_of(stack, tmp_path) as copy:
        ids = [r["id"] for r in database.query(copy, "SELECT id FROM audit_auditevent ORDER BY id")]
        # Someone with the database wants recent events gone: they make them look old.
        database.execute(
            copy,
            "UPDATE audit_auditevent SET at = ? WHERE id <= ?",
            database.days_ago(LONG_AGO),
            ids[2],
        )
        with pytest.raises(StackError) as refused:
            stack.manage("destroy_expired", extra_env=copy.env)
        assert f"Old audit events were kept: the audit log is broken at entry {ids[0]}" in str(
            refused.value
        )
        kept = database.query(
            copy, "SELECT id FROM audit_auditevent WHERE id <= ? ORDER BY id", ids[2]
        )
        assert [r["id"] for r in kept] == ids[:3]


def test_D3_the_servers_own_job_ends_a_forgotten_meeting_and_destroys_expired_data(stack):
    marker = _newest_audit_id(stack)
    meeting = start_meeting(stack, "Nobody pressed End")
    attendee, _, _ = admitted(stack, meeting, "Oli One")
    attendee.send({"type": "chat", "text": "forgotten words 5521"})
    attendee.expect("chat")
    _, stale_email = flows.sign_in(stack, "stale-too")
    # The meeting was planned for two days ago; its host never ended it.
    database.execute(
        stack,
        "UPDATE meetings_meeting SET starts_at = ? WHERE public_id = ?",
        database.days_ago(2),
        _hex(meeting),
    )
    age_sessions(stack, stale_email, "last_seen_at", dt.timedelta(days=40))

    # No command runs: the server's scheduled job ends the meeting as End would.
    assert attendee.expect("meeting_ended", timeout=30)["type"] == "meeting_ended"
    meeting.host.expect("meeting_ended", timeout=5)
    _wait_until(lambda: not _sessions(stack, stale_email), "the stale staff session to go")

    [row] = database.query(
        stack, "SELECT id, state FROM meetings_meeting WHERE public_id = ?", _hex(meeting)
    )
    assert row["state"] == "ended"
    assert not database.query(
        stack, "SELECT id FROM chat_chatmessage WHERE meeting_id = ?", row["id"]
    )
    transcript = _transcript(stack, meeting)
    assert transcript["ciphertext"] is not None and _transcript_keys(stack, meeting)
    retain = dt.date.fromisoformat(transcript["retain_until"])
    assert retain == dt.date.today() + dt.timedelta(days=ONE_TO_ONE_DAYS)
    page = meeting.host_client.get(f"/records/{meeting.id}/transcript/")
    assert "forgotten words 5521" in page.text
    ended = [r for r in stack.audit("meeting.ended") if r["meeting_ref"] == meeting.id]
    assert [(r["actor_kind"], json.loads(r["details"])) for r in ended] == [
        ("system", {"because": "not_ended_by_host"})
    ]

    # The run that ended the meeting writes its own audit row when it finishes, which can
    # be a moment after the people were told: wait for a run that counted it.
    def runs() -> list[dict[str, Any]]:
        return [json.loads(r["details"]) for r in stack.audit("retention.ran") if r["id"] > marker]

    def counted(kind: str) -> int:
        return sum(run["counts"][kind] for run in runs())

    _wait_until(
        lambda: counted("meetings_ended") >= 1 and counted("chat_messages") >= 1,
        "a scheduled run that ended the meeting and destroyed its chat",
    )
    assert {run["trigger"] for run in runs()} == {"schedule"}
    assert counted("meetings_ended") >= 1
    assert counted("chat_messages") >= 1


# Helpers


def _meeting_with_everything(stack, title: str, *, removal_and_ban: bool = True) -> dict[str, Any]:
    """A meeting with someone who told us their access needs, a chat, someone removed and
    someone banned, ended by the host with the transcript kept."""
    meeting = start_meeting(stack, title)
    needs = _invite_with_needs(stack, meeting, f"Nia {title}")
    socket, pid, _, _ = arrive(stack, meeting, needs.name, invited=needs)
    meeting.host.send({"type": "admit", "participant": pid})
    socket.expect("admitted")
    socket.send({"type": "chat", "text": f"chat in {title}"})
    socket.expect("chat")
    emails = [needs.email]
    found: dict[str, Any] = {"meeting": meeting, "needs": needs.email, "emails": emails}
    if removal_and_ban:
        for action, key in (("remove", "removed"), ("ban", "banned")):
            person, person_pid, invited = admitted(stack, meeting, f"{key} {title}")
            meeting.host.send({"type": action, "participant": person_pid, "reason": "Rude."})
            person.expect("removed")
            found[key] = invited.email.lower()
            emails.append(invited.email)
    meeting.host.send({"type": "end_meeting", "transcript": "keep"})
    socket.expect("meeting_ended")
    return found


def _invite_with_needs(stack, meeting: Meeting, name: str) -> flows.Invited:
    address = flows.unique_email("needs")
    sent = flows.send_invitation(meeting.host_client, meeting.id, name=name, email=address)
    assert sent.status_code == 302, sent.text
    agreed = flows.give_consent(
        stack,
        flows.read_consent_link(stack, address),
        need_captions="on",
        other_needs="A quiet start",
        show_on_screen="My letter",
    )
    assert agreed.status_code == 302, agreed.text
    link, passcode = flows.read_access_emails(stack, address, consent_first=False)
    return flows.Invited(name, address, link, passcode)


def _hex(meeting: Meeting) -> str:
    return meeting.id.replace("-", "")


def _newest_audit_id(stack) -> int:
    [row] = database.query(stack, "SELECT MAX(id) AS id FROM audit_auditevent")
    return int(row["id"] or 0)


def _invitations(stack, emails: list[str]) -> list[dict[str, Any]]:
    marks = ",".join("?" * len(emails))
    return database.query(
        stack,
        f"SELECT id FROM invitations_invitation WHERE email IN ({marks})",  # noqa: S608
        *emails,
    )


def _consents(stack, emails: list[str]) -> list[dict[str, Any]]:
    marks = ",".join("?" * len(emails))
    return database.query(
        stack,
        f"SELECT * FROM consent_consent WHERE given_by_email IN ({marks})",  # noqa: S608
        *emails,
    )


def _transcript(stack, meeting: Meeting) -> dict[str, Any]:
    [row] = database.query(
        stack,
        "SELECT t.* FROM records_transcript t JOIN meetings_meeting m ON m.id = t.meeting_id"
        " WHERE m.public_id = ?",
        _hex(meeting),
    )
    return row


def _transcript_keys(stack, meeting: Meeting) -> list[dict[str, Any]]:
    return database.query(
        stack,
        "SELECT k.id FROM records_transcriptkey k JOIN records_transcript t"
        " ON t.id = k.transcript_id JOIN meetings_meeting m ON m.id = t.meeting_id"
        " WHERE m.public_id = ?",
        _hex(meeting),
    )


def _sessions(stack, email: str) -> list[dict[str, Any]]:
    return database.query(
        stack,
        "SELECT s.id FROM accounts_staffsession s JOIN accounts_user u ON u.id = s.user_id"
        " WHERE u.email = ?",
        email.lower(),
    )


def _wait_until(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"waited {timeout} s for {what}")
