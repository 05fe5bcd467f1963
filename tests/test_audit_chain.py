"""Rule D5: the audit log is append-only and tamper-evident."""

import pytest

from tests.harness import database, flows
from tests.harness.stack import StackError


def test_D5_the_live_audit_log_verifies(stack):
    host, _ = flows.sign_in(stack)
    flows.create_meeting(host)
    assert "The audit log is intact" in stack.manage("verify_audit")


def test_D5_changing_an_audit_row_is_found_and_named(stack, tmp_path):
    host, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    flows.invite(stack, host, meeting_id)
    with database.copy_of(stack, tmp_path) as copy:
        [victim] = database.query(
            copy,
            "SELECT id FROM audit_auditevent WHERE action = 'invitation.created'"
            " ORDER BY id DESC LIMIT 1",
        )
        database.execute(
            copy,
            "UPDATE audit_auditevent SET details = '{\"edited\": true}' WHERE id = ?",
            victim["id"],
        )
        with pytest.raises(StackError) as caught:
            stack.manage("verify_audit", extra_env=copy.env)
    assert f"tampered with at entry {victim['id']}: its content was changed" in str(caught.value)


def test_D5_deleting_an_audit_row_is_found(stack, tmp_path):
    host, _ = flows.sign_in(stack)
    flows.create_meeting(host)
    with database.copy_of(stack, tmp_path) as copy:
        rows = [
            r["id"] for r in database.query(copy, "SELECT id FROM audit_auditevent ORDER BY id")
        ]
        database.execute(copy, "DELETE FROM audit_auditevent WHERE id = ?", rows[-3])
        with pytest.raises(StackError) as caught:
            stack.manage("verify_audit", extra_env=copy.env)
    assert f"at entry {rows[-2]}: an event before it was changed or deleted" in str(caught.value)


def test_D5_the_copy_used_above_verifies_before_it_is_spoilt(stack, tmp_path):
    """So the two tests above find the change they made, not a copy broken on its own."""
    host, _ = flows.sign_in(stack)
    flows.create_meeting(host)
    with database.copy_of(stack, tmp_path) as copy:
        assert "The audit log is intact" in stack.manage("verify_audit", extra_env=copy.env)


def test_D5_audit_rows_name_people_only_by_pseudonym(stack):
    host, host_email = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host)
    invited = flows.invite(stack, host, meeting_id)
    dump = "\n".join(str(row) for row in database.query(stack, "SELECT * FROM audit_auditevent"))
    assert host_email not in dump and invited.email not in dump
