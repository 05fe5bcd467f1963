"""Read the live stack's database directly, for what no page shows (and time travel)."""

from __future__ import annotations

import sqlite3
from typing import Any

from tests.harness.stack import Stack


def query(stack: Stack, sql: str, *params: Any) -> list[dict[str, Any]]:
    """Rows from the live database, read-only."""
    connection = sqlite3.connect(f"file:{stack.database}?mode=ro", uri=True)
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
