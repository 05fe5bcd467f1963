"""The live stack's database, read and written directly, on SQLite or PostgreSQL alike.

For what no page shows (and time travel). Tests write SQL with `?` placeholders and get
rows back as SQLite gives them (timestamps and dates as text in UTC, UUIDs as 32 hex
digits, JSON as text), whichever database the run uses: HAVEN_TEST_DATABASE=postgres
runs the suite on PostgreSQL, a fresh database per test session.

backup() and restore() use the commands docs/deployment.md gives operators.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import psycopg
from psycopg.rows import dict_row

if TYPE_CHECKING:
    from tests.harness.stack import Stack

# Where the PostgreSQL server for tests answers: its Unix socket, which the test process
# and Haven inside the test's network namespace both reach, as the user running the tests
# (scripts/ensure-postgres sets that up where it starts the server itself).
POSTGRES_HOST = os.environ.get("HAVEN_TEST_POSTGRES_HOST", "/var/run/postgresql")
POSTGRES_USER = os.environ.get("HAVEN_TEST_POSTGRES_USER") or getpass.getuser()


def kind_for_this_run() -> str:
    """ "sqlite" (the default) or "postgres", from HAVEN_TEST_DATABASE."""
    kind = os.environ.get("HAVEN_TEST_DATABASE", "sqlite") or "sqlite"
    if kind not in {"sqlite", "postgres"}:
        raise ValueError(f"HAVEN_TEST_DATABASE must be sqlite or postgres, not {kind!r}")
    return kind


@dataclass(frozen=True)
class Database:
    """One database Haven can run on: a SQLite file or a PostgreSQL database."""

    kind: str
    path: Path | None = None  # SQLite
    name: str = ""  # PostgreSQL

    @property
    def url(self) -> str:
        """Its DATABASE_URL, as Haven (and pg_dump) take it."""
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"
        return f"postgres://{POSTGRES_USER}@{quote(POSTGRES_HOST, safe='')}/{self.name}"

    @property
    def env(self) -> dict[str, str]:
        """The environment that points a Haven process at it."""
        return {"DATABASE_URL": self.url}


def new_database(folder: Path, label: str) -> Database:
    """A new, empty database of this run's kind (SQLite: the file LABEL.sqlite3 in the folder)."""
    if kind_for_this_run() == "sqlite":
        return Database("sqlite", path=folder / f"{label}.sqlite3")
    name = f"{label}_test_{secrets.token_hex(6)}"
    with _server() as server:
        server.execute(f'CREATE DATABASE "{name}"')
    return Database("postgres", name=name)


def drop(database: Database) -> None:
    """Delete the database (PostgreSQL; a SQLite file goes with its folder)."""
    if database.kind == "postgres":
        with _server() as server:
            server.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_database(folder: Path, label: str) -> Iterator[Database]:
    """A new, empty database for as long as the block runs."""
    database = new_database(folder, label)
    try:
        yield database
    finally:
        drop(database)


def _target(where: Stack | Database) -> Database:
    return where if isinstance(where, Database) else where.db


def query(where: Stack | Database, sql: str, *params: Any) -> list[dict[str, Any]]:
    """Rows from the database (the live stack's, or another), read-only."""
    database = _target(where)
    if database.kind == "sqlite":
        connection = sqlite3.connect(f"file:{database.path}?mode=ro", uri=True)
        connection.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in connection.execute(sql, params).fetchall()]
        finally:
            connection.close()
    with _connect(database) as pg:
        pg.read_only = True
        rows = pg.execute(_postgres_sql(sql), params).fetchall()
    return [{key: _as_sqlite_gives(value) for key, value in row.items()} for row in rows]


def execute(where: Stack | Database, sql: str, *params: Any) -> int:
    """Change the database behind the server's back; how many rows changed."""
    database = _target(where)
    if database.kind == "sqlite":
        connection = sqlite3.connect(database.path or "", timeout=20)
        try:
            with connection:
                return connection.execute(sql, params).rowcount
        finally:
            connection.close()
    with _connect(database) as pg:
        return pg.execute(_postgres_sql(sql), params).rowcount


def insert(where: Stack | Database, table: str, **values: Any) -> int:
    """Insert one row and return its id."""
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING id"  # noqa: S608
    database = _target(where)
    if database.kind == "sqlite":
        connection = sqlite3.connect(database.path or "", timeout=20)
        try:
            with connection:
                return int(connection.execute(sql, tuple(values.values())).fetchone()[0])
        finally:
            connection.close()
    with _connect(database) as pg:
        row = pg.execute(_postgres_sql(sql), tuple(values.values())).fetchone()
    assert row is not None
    return int(row["id"])


def dump_text(where: Stack | Database) -> str:
    """The whole database as SQL text (SQLite's dump, or pg_dump's), for scanning."""
    database = _target(where)
    if database.kind == "sqlite":
        connection = sqlite3.connect(f"file:{database.path}?mode=ro", uri=True)
        try:
            return "\n".join(connection.iterdump())
        finally:
            connection.close()
    return _run(["pg_dump", "--no-owner", f"--dbname={database.url}"]).stdout


def backup(database: Database, file: Path) -> None:
    """Back up a live database into a file, as docs/deployment.md says."""
    if database.kind == "sqlite":
        _run(["sqlite3", str(database.path), ".timeout 20000", f".backup '{file}'"])
    else:
        _run(["pg_dump", "--format=custom", f"--file={file}", f"--dbname={database.url}"])


def restore(file: Path, database: Database) -> None:
    """Restore a backup into a new, empty database, as docs/deployment.md says."""
    if database.kind == "sqlite":
        assert database.path is not None and not database.path.exists()
        shutil.copyfile(file, database.path)
    else:
        _run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={database.url}", str(file)])


@contextlib.contextmanager
def copy_of(stack: Stack, folder: Path) -> Iterator[Database]:
    """A consistent copy of the live database, to spoil without touching the live one."""
    with fresh_database(folder, "copy") as copy:
        backup(stack.db, folder / "copy.backup")
        restore(folder / "copy.backup", copy)
        yield copy


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
    execute(
        stack,
        "UPDATE invitations_invitation SET expires_at = '2000-01-01 00:00:00' WHERE email = ?",
        email,
    )


def _server() -> psycopg.Connection[Any]:
    """A connection for creating and dropping databases."""
    return psycopg.connect(
        host=POSTGRES_HOST, user=POSTGRES_USER, dbname="postgres", autocommit=True
    )


def _connect(database: Database) -> psycopg.Connection[dict[str, Any]]:
    # Text timestamps without a zone are UTC, as Haven stores them.
    return psycopg.connect(
        host=POSTGRES_HOST,
        user=POSTGRES_USER,
        dbname=database.name,
        options="-c TimeZone=UTC",
        row_factory=dict_row,
    )


def _postgres_sql(sql: str) -> str:
    """The same statement with PostgreSQL's placeholders (no test puts ? in a literal)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _as_sqlite_gives(value: Any) -> Any:
    """A PostgreSQL value in the form SQLite gives it for Django's columns."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:1])} failed:\n{result.stderr}")
    return result


def days_ago(days: float) -> str:
    """A time that many days before now, as the database stores times (UTC)."""
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S.%f")


@contextlib.contextmanager
def _one_transaction(database: Database) -> Iterator[Any]:
    """Run statements (? placeholders) in one writing transaction; rows as query() gives."""
    if database.kind == "sqlite":
        connection = sqlite3.connect(database.path or "", timeout=20, isolation_level=None)
        connection.row_factory = sqlite3.Row
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield lambda sql, *params: [
                dict(row) for row in connection.execute(sql, params).fetchall()
            ]
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        finally:
            connection.close()
        return

    with _connect(database) as pg:

        def run(sql: str, *params: Any) -> list[dict[str, Any]]:
            cursor = pg.execute(_postgres_sql(sql), params)
            if cursor.description is None:
                return []
            return [{k: _as_sqlite_gives(v) for k, v in row.items()} for row in cursor.fetchall()]

        yield run


def backdate_audit(where: Stack | Database, through_id: int, days: float) -> None:
    """Make the audit events up to this id look `days` older, as if written then.

    Their time is part of each hash, so the chain is sealed again from there on with
    Haven's own hash function, all in one transaction while the server may be appending.
    """
    from haven.audit.log import GENESIS, event_hash
    from haven.audit.models import AuditEvent

    database = _target(where)
    with _one_transaction(database) as run:
        lock = " FOR UPDATE" if database.kind == "postgres" else ""
        run(f"SELECT last_hash FROM audit_auditchainhead{lock}")  # noqa: S608
        anchor = run("SELECT last_hash FROM audit_auditanchor")
        prev = anchor[0]["last_hash"] if anchor else GENESIS
        for row in run("SELECT * FROM audit_auditevent ORDER BY id"):
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
            run(
                "UPDATE audit_auditevent SET at = ?, prev_hash = ?, hash = ? WHERE id = ?",
                at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                event.prev_hash,
                prev,
                row["id"],
            )
        run("UPDATE audit_auditchainhead SET last_hash = ?", prev)
        # The chain was sealed again: what an earlier check verified no longer holds.
        run("DELETE FROM audit_auditcheckpoint")


def note_text(where: Stack | Database, value: Any) -> str | None:
    """The free text an audit detail refers to (an AuditNote), or None once erased."""
    assert isinstance(value, dict) and set(value) == {"note", "sha256"}, value
    rows = query(where, "SELECT text FROM audit_auditnote WHERE id = ?", value["note"])
    return rows[0]["text"] if rows else None


def tables_containing(where: Stack | Database, needle: str) -> list[str]:
    """Every "table.column" of the database whose text holds `needle` (any case)."""
    database = _target(where)
    if database.kind == "sqlite":
        columns = [
            (table["name"], column["name"])
            for table in query(database, "SELECT name FROM sqlite_master WHERE type = 'table'")
            for column in query(database, f'PRAGMA table_info("{table["name"]}")')
        ]
        contains = "instr(lower(CAST({c} AS TEXT)), lower(?)) > 0"
    else:
        columns = [
            (row["table_name"], row["column_name"])
            for row in query(
                database,
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
            )
        ]
        contains = "strpos(lower(CAST({c} AS TEXT)), lower(?)) > 0"
    found = []
    for table, column in columns:
        condition = contains.format(c=f'"{column}"')
        hits = query(
            database,
            f'SELECT COUNT(*) AS n FROM "{table}" WHERE {condition}',  # noqa: S608 (schema names)
            needle,
        )
        if hits[0]["n"]:
            found.append(f"{table}.{column}")
    return found
