"""Read the live stack's database directly, for what no page shows (and time travel)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.harness.stack import Stack


def query(
    stack: Stack, sql: str, *params: Any, database: Path | None = None
) -> list[dict[str, Any]]:
    """Rows from the live database (or a copy of it), read-only."""
    connection = sqlite3.connect(f"file:{database or stack.database}?mode=ro", uri=True)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute(sql, params).fetchall()]
    finally:
        connection.close()


def invitation(stack: Stack, email: str) -> dict[str, Any]:
    """The newest invitation for this address."""
    rows = query(
        stack, "SELECT * FROM invitations_invitation WHERE email = ? ORDER BY id DESC", email
    )
    assert rows, f"no invitation for {email}"
    return rows[0]


def consents(stack: Stack, email: str) -> list[dict[str, Any]]:
    return query(
        stack,
        "SELECT c.* FROM consent_consent c JOIN invitations_invitation i "
        "ON c.invitation_id = i.id WHERE i.email = ? ORDER BY c.id",
        email,
    )


def let_time_pass_for(stack: Stack, email: str) -> None:
    """Make this invitation's links expire, as the clock would after the meeting.

    The one write a test does behind the server's back: there is no clock to move.
    """
    connection = sqlite3.connect(stack.database, timeout=20)
    try:
        with connection:
            connection.execute(
                "UPDATE invitations_invitation SET expires_at = '2000-01-01 00:00:00' "
                "WHERE email = ?",
                (email,),
            )
    finally:
        connection.close()


def days_ago(days: float) -> str:
    """A time that many days before now, as the database stores times (UTC)."""
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S.%f")


def execute(stack: Stack, sql: str, *params: Any, database: Path | None = None) -> int:
    """Change the live database (or a copy) behind the server's back, as the clock would
    have: the tests' time machine. Use ? placeholders. Returns how many rows changed."""
    connection = sqlite3.connect(database or stack.database, timeout=20)
    try:
        with connection:
            return connection.execute(sql, params).rowcount
    finally:
        connection.close()


def copy(stack: Stack, target: Path) -> Path:
    """A consistent copy of the live database (run manage.py on it with HAVEN_SQLITE_PATH)."""
    with (
        sqlite3.connect(f"file:{stack.database}?mode=ro", uri=True) as live,
        sqlite3.connect(target) as copied,
    ):
        live.backup(copied)
    return target


def backdate_audit(stack: Stack, through_id: int, days: float) -> None:
    """Make the audit events up to this id look `days` older, as if written then.

    Their time is part of each hash, so the chain is sealed again from there on with
    Haven's own hash function, all in one transaction while the server may be appending.
    """
    from haven.audit.log import GENESIS, event_hash
    from haven.audit.models import AuditEvent

    connection = sqlite3.connect(stack.database, timeout=20, isolation_level=None)
    connection.row_factory = sqlite3.Row
    try:
        connection.execute("BEGIN IMMEDIATE")
        anchor = connection.execute("SELECT last_hash FROM audit_auditanchor").fetchone()
        prev = anchor["last_hash"] if anchor else GENESIS
        rows = connection.execute("SELECT * FROM audit_auditevent ORDER BY id").fetchall()
        for row in rows:
            at = dt.datetime.fromisoformat(row["at"]).replace(tzinfo=dt.UTC)
            if row["id"] <= through_id:
                at -= dt.timedelta(days=days)
            event = AuditEvent(
                at=at,
                action=row["action"],
                actor_kind=row["actor_kind"],
                actor_ref=row["actor_ref"],
                subject_ref=row["subject_ref"],
                meeting_ref=row["meeting_ref"],
                details=json.loads(row["details"]),
                prev_hash=prev,
            )
            prev = event_hash(event)
            connection.execute(
                "UPDATE audit_auditevent SET at = ?, prev_hash = ?, hash = ? WHERE id = ?",
                (at.strftime("%Y-%m-%d %H:%M:%S.%f"), event.prev_hash, prev, row["id"]),
            )
        connection.execute("UPDATE audit_auditchainhead SET last_hash = ?", (prev,))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    finally:
        connection.close()


def tables_containing(stack: Stack, needle: str) -> list[str]:
    """Every "table.column" of the live database whose text holds `needle` (any case)."""
    found = []
    tables = query(stack, "SELECT name FROM sqlite_master WHERE type = 'table'")
    for table in (row["name"] for row in tables):
        columns = query(stack, f'PRAGMA table_info("{table}")')
        for column in (row["name"] for row in columns):
            hits = query(
                stack,
                f'SELECT COUNT(*) AS n FROM "{table}" '  # noqa: S608 (names from the schema)
                f'WHERE instr(lower(CAST("{column}" AS TEXT)), lower(?)) > 0',
                needle,
            )
            if hits[0]["n"]:
                found.append(f"{table}.{column}")
    return found
