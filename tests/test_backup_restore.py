"""Backing up the live database and restoring it into a fresh one (docs/deployment.md).

On whichever database the run uses: SQLite's .backup, or pg_dump and pg_restore. The
restored database has the same data, its audit log still verifies (rule D5), and a Haven
process pointed at it still decrypts a kept transcript (rule S6): the backup is usable,
not only complete.
"""

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.harness import database, flows
from tests.harness.netns import pick_port
from tests.harness.stack import PYTHON, ROOT, Stack, StackError
from tests.test_in_meeting_protocol import admitted, start_meeting

SECRET = "the tribunal date is the fourth of March"


def test_S6_D5_a_backup_restored_into_a_fresh_database_has_the_same_data(stack, tmp_path):
    meeting = start_meeting(stack, "Backed up meeting")
    one, _, invited = admitted(stack, meeting, "Bea Backup")
    one.send({"type": "chat", "text": SECRET})
    one.expect("chat")
    meeting.host.send({"type": "end_meeting", "transcript": "keep"})
    one.expect("meeting_ended")
    public_id = meeting.id.replace("-", "")

    before = _row_counts(stack.db)
    database.backup(stack.db, tmp_path / "haven.backup")
    after = _row_counts(stack.db)
    with database.fresh_database(tmp_path, "restored") as restored:
        database.restore(tmp_path / "haven.backup", restored)
        counts = _row_counts(restored)
        # Every table the server left alone while the backup ran has as many rows.
        steady = {table for table in before if before[table] == after[table]}
        assert {"meetings_meeting", "invitations_invitation", "records_transcript"} <= steady
        assert {table: counts[table] for table in steady} == {t: after[t] for t in steady}
        assert set(counts) == set(after)
        # The same values, this meeting's included.
        for sql in (
            "SELECT * FROM meetings_meeting WHERE public_id = ?",
            "SELECT * FROM invitations_invitation WHERE email = ?",
            "SELECT t.* FROM records_transcript t JOIN meetings_meeting m"
            " ON m.id = t.meeting_id WHERE m.public_id = ?",
        ):
            value = invited.email if "email" in sql else public_id
            live = database.query(stack, sql, value)
            assert live and database.query(restored, sql, value) == live
        # The audit log: the same chain as far as the backup reached, and it verifies.
        copied = database.query(restored, "SELECT id, hash FROM audit_auditevent ORDER BY id")
        live = database.query(stack, "SELECT id, hash FROM audit_auditevent ORDER BY id")
        assert copied and copied == live[: len(copied)]
        assert "The audit log is intact" in stack.manage("verify_audit", extra_env=restored.env)
        # The transcript, still encrypted in the backup file, decrypts from the restored
        # database, through a Haven process of its own.
        assert SECRET.encode() not in (tmp_path / "haven.backup").read_bytes()
        with _haven_on(stack, restored, tmp_path) as restored_haven:
            restored_haven.cookies.update(meeting.host_client.cookies)
            download = restored_haven.get(f"/records/{meeting.id}/transcript.txt")
            assert download.status_code == 200 and SECRET in download.text
            # And the restored Haven is not the live one answering: a meeting made on the
            # live one after the backup is not there.
            later = flows.create_meeting(meeting.host_client, "After the backup")
            assert meeting.host_client.get(f"/meetings/{later}/").status_code == 200
            assert restored_haven.get(f"/meetings/{later}/").status_code == 404


def test_restoring_into_a_database_that_is_not_empty_fails_loudly(stack, tmp_path):
    """pg_restore stops at the first error; a SQLite restore will not overwrite a file."""
    database.backup(stack.db, tmp_path / "haven.backup")
    with database.fresh_database(tmp_path, "restored") as restored:
        database.restore(tmp_path / "haven.backup", restored)
        failed = False
        try:
            database.restore(tmp_path / "haven.backup", restored)
        except (RuntimeError, AssertionError):
            failed = True
        assert failed


def _row_counts(db: database.Database) -> dict[str, int]:
    if db.kind == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        tables = [row["name"] for row in database.query(db, sql)]
    else:
        sql = "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
        tables = [row["name"] for row in database.query(db, sql)]
    assert "audit_auditevent" in tables
    return {
        table: database.query(db, f'SELECT COUNT(*) AS n FROM "{table}"')[0]["n"]  # noqa: S608
        for table in tables
    }


@contextlib.contextmanager
def _haven_on(stack: Stack, db: database.Database, folder: Path) -> Iterator[httpx.Client]:
    """A second Haven process, in the stack's namespace, on another database."""
    socket_path = folder / "restored.sock"
    port = pick_port()
    log = (folder / "restored-haven.log").open("ab")
    command = [PYTHON, "manage.py", "serve", "--no-janus", f"--port={port}"]
    process = subprocess.Popen(
        [*stack.namespace.exec_prefix, *command, f"--uds={socket_path}"],
        cwd=ROOT,
        env={**stack.env, **db.env},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    transport = httpx.HTTPTransport(uds=str(socket_path))
    client = httpx.Client(transport=transport, base_url=f"http://localhost:{port}", timeout=20)
    try:
        deadline = time.monotonic() + 30
        while not _answers(client):
            if process.poll() is not None or time.monotonic() > deadline:
                text = (folder / "restored-haven.log").read_text()[-3000:]
                raise StackError(f"the restored Haven did not start:\n{text}")
            time.sleep(0.1)
        yield client
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _answers(client: httpx.Client) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return client.get("/").status_code == 200
    return False
