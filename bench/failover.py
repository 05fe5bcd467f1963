"""Failover: how long after a Janus freezes (SIGSTOP) or dies (SIGKILL) media is back for
everyone in its meeting (issue 20 item 9; target 3 s).

A stack of its own with two Janus servers (the other figures use one) and the default
HAVEN_JANUS_FAILOVER_SECONDS. A host and an attendee, each with a camera, see each other
in Chromium; the Janus their meeting is on is frozen or killed; the clock runs from the
moment it is stopped (for a freeze: once every thread of it has stopped) until both pages
decode video and audio again, on the other server. Pages are polled every 25 ms. Runs
take turns, freeze then kill, each breaking the server the meeting is on by then; the
broken one is thawed or started again, and answers Haven again, before the next run.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page

from bench import browser_runs, people
from tests.harness import database, flows, ui
from tests.harness.browser import chromium
from tests.harness.stack import Stack, live_stack

POLL_MS = 25
TARGET_MS = 3000.0
GIVE_UP_S = 30.0


@dataclass
class FailoverResult:
    freeze_ms: list[float] = field(default_factory=list)
    kill_ms: list[float] = field(default_factory=list)


def measure(runs: int) -> FailoverResult:
    """``runs`` freezes and ``runs`` kills, taking turns, on a two-Janus stack of its own."""
    result = FailoverResult()
    with (
        tempfile.TemporaryDirectory(prefix="haven-bench-failover-") as folder,
        live_stack(Path(folder), janus_servers=2) as stack,
        chromium(stack) as browser,
    ):
        host, attendee, meeting_id = _two_people_seeing_each_other(browser, stack)
        for _ in range(runs):
            for how, times in (("freeze", result.freeze_ms), ("kill", result.kill_ms)):
                times.append(_one_failover(stack, (host, attendee), meeting_id, how))
    return result


def _two_people_seeing_each_other(browser: Browser, stack: Stack) -> tuple[Page, Page, str]:
    host = people.new_host(stack)
    # One to one: a host and a parent, each with camera and microphone on.
    meeting_id = flows.create_meeting(host.client, "Failover", "one_to_one")
    sam = people.attendees(stack, host, meeting_id, 1, prefix="Sender")[0]
    host_page = browser_runs._host_page(browser, stack, host, meeting_id)
    attendee = browser_runs._meeting_page(browser, stack, meeting_id, sam.cookies, camera=True)
    ui.wait_for_state(attendee, "waiting")
    host_page.get_by_role("button", name=f"Let in {sam.name}").click()
    for page in (host_page, attendee):
        _wait_for_media(page)
    return host_page, attendee, meeting_id


def _one_failover(stack: Stack, pages: tuple[Page, Page], meeting_id: str, how: str) -> float:
    index = stack.janus_urls.index(_placed_on(stack, meeting_id))
    janus = stack.janus_processes[index]
    restarts = [_restarts(page) for page in pages]
    if how == "freeze":
        janus.freeze()
    else:
        janus.kill()
    broken = time.monotonic()
    try:
        for page, before in zip(pages, restarts, strict=True):
            _wait_for_media_back(page, before)
        took_ms = (time.monotonic() - broken) * 1000
    finally:
        if how == "freeze":
            janus.thaw()
        else:
            stack.start_janus(index)
    _wait_until_both_answer(stack)
    return took_ms


def _restarts(page: Page) -> int:
    count: int = page.evaluate(
        "() => window.haven.received.filter((type) => type === 'media_restarted').length"
    )
    return count


def _wait_for_media_back(page: Page, restarts_before: int) -> None:
    """The page was told to reconnect its media, and decodes video and audio again."""
    deadline = time.monotonic() + GIVE_UP_S
    while _restarts(page) <= restarts_before:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the page was not told to reconnect within {GIVE_UP_S} s")
        page.wait_for_timeout(POLL_MS)
    _wait_for_media(page, deadline)


def _wait_for_media(page: Page, deadline: float | None = None) -> None:
    """The page decodes video and audio from the others."""
    deadline = time.monotonic() + GIVE_UP_S if deadline is None else deadline
    while time.monotonic() < deadline:
        totals = ui.inbound(page)
        if totals["video"]["frames"] > 0 and totals["audio"]["samples"] > 0:
            return
        page.wait_for_timeout(POLL_MS)
    raise RuntimeError(f"media did not come within {GIVE_UP_S} s")


def _placed_on(stack: Stack, meeting_id: str) -> str:
    rows = database.query(
        stack,
        "SELECT media_server FROM meetings_meeting WHERE public_id = ?",
        uuid.UUID(meeting_id).hex,
    )
    return str(rows[0]["media_server"])


def _wait_until_both_answer(stack: Stack) -> None:
    deadline = time.monotonic() + GIVE_UP_S
    while time.monotonic() < deadline:
        with stack.http() as client:
            if client.get("/readyz").json()["checks"]["media"] == "ok":
                return
        time.sleep(0.2)
    raise RuntimeError("a Janus server did not answer Haven again")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
