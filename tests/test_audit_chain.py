"""Rule D5: the audit log is append-only and tamper-evident."""

import sqlite3

import pytest

from tests.harness import flows
from tests.harness.stack import StackError


def test_D5_the_live_audit_log_verifies(stack):
    host, _ = flows.sign_in(stack)
    flows.create_meeting(host)
    assert "The audit log is intact" in stack.manage("verify_audit")


def test_D5_changing_an_audit_row_is_found_and_named(stack, tmp_path):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    flows.invite(stack, host, meeting_id)
    copy = tmp_path / "copy.sqlite3"
    _copy_database(stack.database, copy)
    with sqlite3.connect(copy) as db:
        victim = db.execute(
            "SELECT id FROM audit_auditevent WHERE action = 'invitation.created' ORDER BY id DESC"
        ).fetchone()[0]
        db.execute(
            "UPDATE audit_auditevent SET details = '{\"edited\": true}' WHERE id = ?", (victim,)
        )
    with pytest.raises(StackError) as caught:
        stack.manage("verify_audit", extra_env={"HAVEN_SQLITE_PATH": str(copy)})
    assert f"tampered with at entry {victim}: its content was changed" in str(caught.value)


def test_D5_deleting_an_audit_row_is_found(stack, tmp_path):
    host, _ = flows.sign_in(stack)
    flows.create_meeting(host)
    copy = tmp_path / "copy.sqlite3"
    _copy_database(stack.database, copy)
    with sqlite3.connect(copy) as db:
        rows = [r[0] for r in db.execute("SELECT id FROM audit_auditevent ORDER BY id")]
        db.execute("DELETE FROM audit_auditevent WHERE id = ?", (rows[-3],))
    with pytest.raises(StackError) as caught:
        stack.manage("verify_audit", extra_env={"HAVEN_SQLITE_PATH": str(copy)})
    assert f"at entry {rows[-2]}: an event before it was changed or deleted" in str(caught.value)


def test_D5_audit_rows_name_people_only_by_pseudonym(stack):
    host, host_email = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    invited = flows.invite(stack, host, meeting_id)
    with sqlite3.connect(f"file:{stack.database}?mode=ro", uri=True) as db:
        dump = "\n".join(
            str(row) for row in db.execute("SELECT * FROM audit_auditevent").fetchall()
        )
    assert host_email not in dump and invited.email not in dump


def _copy_database(source, target):
    """A consistent copy of the live database, via SQLite's backup API."""
    with (
        sqlite3.connect(f"file:{source}?mode=ro", uri=True) as live,
        sqlite3.connect(target) as copy,
    ):
        live.backup(copy)
