"""Debian's Chromium, driven by Playwright, running inside the test namespace."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from tests.harness.stack import Stack

CHROMIUM = "/usr/bin/chromium"
# From shared/design/media-testing.md: fake devices, and nothing that reaches the network.
FLAGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost",
    "--autoplay-policy=no-user-gesture-required",
]


def _wrapper(stack: Stack) -> Path:
    """A launcher that starts Debian's Chromium inside the stack's namespace."""
    path = stack.folder / "chromium-in-namespace"
    prefix = " ".join(stack.namespace.exec_prefix)
    path.write_text(f'#!/bin/sh\nexec {prefix} {CHROMIUM} "$@"\n')
    path.chmod(0o755)
    return path


@contextlib.contextmanager
def chromium(stack: Stack, *, fake_devices: bool = True) -> Iterator[Browser]:
    """One Chromium in the stack's namespace (fake camera and microphone by default)."""
    with chromiums(stack, fake_devices) as (browser,):
        yield browser


@contextlib.contextmanager
def chromiums(stack: Stack, *fake_devices: bool) -> Iterator[tuple[Browser, ...]]:
    """Several Chromium processes, one for each flag: with fake devices, or with none."""
    with sync_playwright() as playwright:
        launched: list[Browser] = []
        try:
            for fake in fake_devices:
                flags = FLAGS if fake else [f for f in FLAGS if "fake-device" not in f]
                launched.append(
                    playwright.chromium.launch(
                        executable_path=str(_wrapper(stack)), args=flags, headless=True
                    )
                )
            yield tuple(launched)
        finally:
            for browser in launched:
                browser.close()


def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.2 AA violations on the page, as readable lines."""
    results = Axe().run(page, options={"runOnly": ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]})
    record_axe_result(page, results.response)
    return [
        f"{violation['id']}: {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"])
        for violation in results.response["violations"]
    ]


# Every page state axe checks, with what it found, for the accessibility statement
# (haven/assurance/accessibility.py reads it; HAVEN_AXE_RESULTS in the server).
AXE_RESULTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "axe-results.json"
KEEP_RUNS = 5
_RUN = {
    "run": f"{os.getpid()}-{secrets.token_hex(4)}",
    "started_at": dt.datetime.now(dt.UTC).isoformat(),
}
# Link tokens, ids and other long values in a path are not kept, only where they were.
_SECRET_PART = re.compile(r"[A-Za-z0-9_-]{20,}|[0-9a-f-]{36}")


def _page_name(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "(a file opened with no server)"  # set_content: a downloaded document
    return _SECRET_PART.sub("…", parts.path) or "/"


def record_axe_result(page: Page, response: dict[str, Any], path: Path = AXE_RESULTS) -> None:
    """Append this page state's axe result to this test run's entry in the artefact.

    Two test runs at once (SQLite and PostgreSQL side by side) each keep a run of their
    own in the file, under a lock; only the newest few runs are kept.
    """
    check = {
        "at": dt.datetime.now(dt.UTC).isoformat(),
        "page": _page_name(page.url),
        "title": page.title(),
        "passed": len(response.get("passes", [])),
        "violations": [
            {
                "id": violation["id"],
                "impact": violation.get("impact") or "",
                "help": violation["help"],
                "nodes": len(violation["nodes"]),
            }
            for violation in response["violations"]
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        file.seek(0)
        try:
            runs = json.loads(file.read() or "{}").get("runs", [])
        except ValueError:
            runs = []
        ours = next((run for run in runs if run.get("run") == _RUN["run"]), None)
        if ours is None:
            ours = {**_RUN, "checks": []}
            runs = [*runs, ours][-KEEP_RUNS:]
        ours["checks"].append(check)
        file.seek(0)
        file.truncate()
        json.dump({"runs": runs}, file, indent=1)
