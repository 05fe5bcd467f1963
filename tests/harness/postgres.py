"""A private PostgreSQL cluster for one test, which the test may stop and start again.

The shared server (tests/harness/database.py, scripts/ensure-postgres) is never
restarted by a test: other tests, and other people's runs, use it. This one is made with
initdb in the test's own folder and answers only on a Unix socket in that folder (no TCP
at all: `listen_addresses = ''`), on a port of its own that names the socket. Haven, in
the test's network namespace, reaches it through the socket as it does the shared one.

initdb and postgres refuse to run as root: when the tests run as root, the cluster runs
as the `postgres` user (Debian's package makes it), owning only its own folder.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg.rows import dict_row

from tests.harness.database import Database
from tests.harness.netns import pick_port

ROLE = "haven"


class PostgresError(RuntimeError):
    """The private cluster could not be made, started or stopped; the message says why."""


def _binaries() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not found:
        raise PostgresError("No PostgreSQL server binaries in /usr/lib/postgresql (postgresql).")
    return found[-1].parent


@dataclass(frozen=True)
class PrivateDatabase(Database):
    """A database on the private cluster: its DATABASE_URL names the cluster's socket."""

    socket_dir: str = ""
    port: int = 0

    @property
    def url(self) -> str:
        return f"postgres://{ROLE}@{quote(self.socket_dir, safe='')}:{self.port}/{self.name}"


@dataclass
class PrivatePostgres:
    """One cluster: its data folder, socket folder and port."""

    folder: Path
    port: int
    owner: str | None  # the OS user it runs as (None: the user running the tests)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def socket_dir(self) -> Path:
        return self.folder / "socket"

    def _run(self, *command: str, timeout: float = 60) -> str:
        prefix = ["runuser", "-u", self.owner, "--"] if self.owner else []
        result = subprocess.run(
            [*prefix, *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.folder,
        )
        if result.returncode != 0:
            raise PostgresError(f"{Path(command[0]).name} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def init(self) -> None:
        bin_dir = _binaries()
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self.owner:
            record = pwd.getpwnam(self.owner)
            for path in (self.folder, self.socket_dir):
                os.chown(path, record.pw_uid, record.pw_gid)
        self._run(
            str(bin_dir / "initdb"),
            f"--pgdata={self.data}",
            f"--username={ROLE}",
            "--auth=trust",  # only this socket, in a folder only its owner and root reach
            "--encoding=UTF8",
            "--no-sync",
        )
        settings = [
            "listen_addresses = ''",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.socket_dir}'",
            "unix_socket_permissions = 0700",
            "fsync = off",
            "max_connections = 50",
        ]
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(settings) + "\n")

    def start(self) -> None:
        self._run(
            str(_binaries() / "pg_ctl"),
            f"--pgdata={self.data}",
            f"--log={self.folder / 'postgres.log'}",
            "--wait",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (fast: every connection is cut, as in a restart)."""
        self._run(str(_binaries() / "pg_ctl"), f"--pgdata={self.data}", f"--mode={mode}", "stop")

    def restart(self) -> float:
        """Stop and start again, as an operator's restart would; how long it was down."""
        started = time.monotonic()
        self.stop()
        self.start()
        return time.monotonic() - started

    def connect(self, dbname: str = "postgres", **kwargs: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=str(self.socket_dir), port=self.port, user=ROLE, dbname=dbname, **kwargs
        )

    def new_database(self, name: str) -> PrivateDatabase:
        with self.connect(autocommit=True) as server:
            server.execute(f'CREATE DATABASE "{name}"')
        return PrivateDatabase(
            "postgres", name=name, socket_dir=str(self.socket_dir), port=self.port
        )

    def query(self, database: Database, sql: str, *params: Any) -> list[dict[str, Any]]:
        """Rows from one of its databases (`?` placeholders, as tests/harness/database.py)."""
        with self.connect(database.name, row_factory=dict_row, options="-c TimeZone=UTC") as pg:
            return list(pg.execute(sql.replace("?", "%s"), params).fetchall())


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """Make and start a cluster in a new folder of its own; stop it and delete it after.

    The folder is made in the system's temporary folder, not the test's: pytest's folders
    are private to the user running the tests, which the cluster's owner may not be.
    """
    folder = Path(tempfile.mkdtemp(prefix="haven-pg-"))
    owner = "postgres" if os.geteuid() == 0 else None
    if owner:
        try:
            pwd.getpwnam(owner)
        except KeyError as error:
            raise PostgresError(
                "Running as root needs a postgres user to own the cluster."
            ) from error
    cluster = PrivatePostgres(folder, pick_port(), owner)
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(PostgresError):
            cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
