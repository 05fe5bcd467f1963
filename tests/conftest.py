from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import database, flows
from tests.harness.stack import Stack, live_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One live Haven + Janus + SMTP server for the whole run, in its own namespace."""
    folder: Path = tmp_path_factory.mktemp("stack")
    with live_stack(folder) as running:
        yield running


@pytest.fixture(autouse=True)
def close_sockets() -> Iterator[None]:
    """Close every meeting socket a test opened, so tests never leak into each other."""
    yield
    while flows.OPEN_SOCKETS:
        flows.OPEN_SOCKETS.pop().close()


def pytest_report_header() -> str:
    return f"database: {database.kind_for_this_run()} (HAVEN_TEST_DATABASE)"
