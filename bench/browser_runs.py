"""Figures measured in Chromium inside the stack's namespace: join speed and media load.

Pages are driven as in tests/harness/ui.py: the host and attendees get their session
cookies over HTTP (bench/people.py), then open the real meeting page.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page

from bench import people, procstat
from bench.people import Attendee, Host
from haven.media.gateway import room_id_for
from tests.harness import database, ui
from tests.harness.browser import chromiums
from tests.harness.netns import pick_port
from tests.harness.stack import Stack

BASELINE_FOLDER = Path(__file__).resolve().parent / "baseline"
FRAME_TIMEOUT_MS = 20_000

# The attendee's clock, as a point in time every page of the browser shares.
FIRST_FRAME = """() => window.haven && window.haven.metrics.firstRemoteFrameAt !== null
  && {origin: performance.timeOrigin, admittedAt: window.haven.metrics.admittedAt,
      firstRemoteFrameAt: window.haven.metrics.firstRemoteFrameAt}"""
# Press "Let in <name>" and say when, on the same shared clock.
PRESS = """(button) => {
  const at = performance.timeOrigin + performance.now();
  button.click();
  return at;
}"""
# Every receiving connection of the page has decoded video.
ALL_FEEDS_SHOWING = """async (expected) => {
  const subscribers = window.haven.peerConnections.subscribers;
  if (subscribers.size < expected) return false;
  for (const pc of subscribers.values()) {
    let frames = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
    });
    if (frames === 0) return false;
  }
  return true;
}"""


def _context(browser: Browser, stack: Stack, cookies: dict[str, str]) -> BrowserContext:
    context = browser.new_context(viewport=ui.DESKTOP)  # type: ignore[arg-type]
    context.add_cookies(
        [{"name": k, "value": v, "url": stack.base_url} for k, v in cookies.items()]
    )
    return context


def _meeting_page(
    browser: Browser, stack: Stack, meeting_id: str, cookies: dict[str, str], *, camera: bool
) -> Page:
    page = _context(browser, stack, cookies).new_page()
    page.goto(f"{stack.base_url}/room/{meeting_id}/")
    ui.join(page, camera=camera)
    return page


def _host_page(browser: Browser, stack: Stack, host: Host, meeting_id: str) -> Page:
    page = _meeting_page(browser, stack, meeting_id, dict(host.client.cookies.items()), camera=True)
    ui.wait_for_state(page, "in_meeting")
    page.wait_for_function(
        "() => window.haven.peerConnections.publisher &&"
        " window.haven.peerConnections.publisher.connectionState === 'connected'",
        timeout=FRAME_TIMEOUT_MS,
    )
    return page


def _host_feed(stack: Stack, meeting_id: str) -> tuple[int, str]:
    """The host's feed id and the meeting's media room key, from the live database."""
    deadline = time.monotonic() + 10
    while True:
        rows = database.query(
            stack,
            "SELECT p.feed_id, m.public_id FROM room_participant p JOIN meetings_meeting m"
            " ON m.id = p.meeting_id WHERE m.public_id = ? AND p.user_id IS NOT NULL"
            " AND p.state = 'admitted' AND p.feed_id IS NOT NULL",
            meeting_id.replace("-", ""),
        )
        if rows or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if not rows:
        raise RuntimeError("the host's feed never reached the database")
    return int(rows[0]["feed_id"]), f"meeting-{_uuid(rows[0]['public_id'])}"


def _uuid(hex32: str) -> str:
    h = hex32.replace("-", "")
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def room_secret(admin_key: str, room_key: str) -> str:
    """The VideoRoom secret Haven derives for a room (haven/media/gateway.py)."""
    label = b"haven-room-secret:" + room_key.encode("utf-8")
    return hmac.new(admin_key.encode("utf-8"), label, hashlib.sha256).hexdigest()


@contextlib.contextmanager
def static_server(stack: Stack) -> Iterator[str]:
    """A tiny static server for the baseline page, inside the namespace, on loopback."""
    port = pick_port()
    command = [*stack.namespace.exec_prefix, sys.executable, "-m", "http.server"]
    command += [str(port), "--bind", "127.0.0.1", "--directory", str(BASELINE_FOLDER)]
    log = (stack.folder / "baseline-server.log").open("ab")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield f"http://localhost:{port}/index.html"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@dataclass
class JoinSpeed:
    admit_to_frame_ms: list[float]
    admitted_to_frame_ms: list[float]
    baseline_subscribe_ms: list[float]
    baseline_connect_ms: list[float]


def _haven_join(
    browser: Browser, stack: Stack, host_page: Page, meeting_id: str, who: Attendee
) -> tuple[float, float]:
    page = _meeting_page(browser, stack, meeting_id, who.cookies, camera=False)
    try:
        ui.wait_for_state(page, "waiting")
        button = host_page.get_by_role("button", name=f"Let in {who.name}")
        button.wait_for(timeout=FRAME_TIMEOUT_MS)
        pressed_at = float(button.evaluate(PRESS))
        seen = page.wait_for_function(FIRST_FRAME, timeout=FRAME_TIMEOUT_MS).json_value()
        frame_at = seen["origin"] + seen["firstRemoteFrameAt"]
        return frame_at - pressed_at, seen["firstRemoteFrameAt"] - seen["admittedAt"]
    finally:
        page.context.close()


def _baseline_join(browser: Browser, url: str, options: dict[str, object]) -> tuple[float, float]:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("() => typeof window.subscribeOnce === 'function'")
        result = page.evaluate("(options) => window.subscribeOnce(options)", options)
        return float(result["subscribeToFirstFrameMs"]), float(result["connectToFirstFrameMs"])
    finally:
        context.close()


def join_speed(stack: Stack, host: Host, runs: int, warmups: int) -> JoinSpeed:
    """Haven's admit-to-first-frame and the direct-Janus baseline, run by turns."""
    meeting_id = people.new_meeting(host, "Join speed")
    invitees = people.attendees(stack, host, meeting_id, runs + warmups, prefix="Joiner")
    result = JoinSpeed([], [], [], [])
    with chromiums(stack, True) as (browser,), static_server(stack) as baseline_url:
        host_page = _host_page(browser, stack, host, meeting_id)
        feed, room_key = _host_feed(stack, meeting_id)
        options = {
            # localhost: the browser's resolver rules refuse every other name (browser.py).
            "url": f"ws://localhost:{stack.janus.ws_port}",
            "apiSecret": stack.janus.api_secret,
            "room": room_id_for(room_key),
            "roomSecret": room_secret(stack.janus.admin_key, room_key),
            "feed": feed,
        }
        for number, who in enumerate(invitees):
            haven = _haven_join(browser, stack, host_page, meeting_id, who)
            baseline = _baseline_join(browser, baseline_url, options)
            if number < warmups:
                continue
            result.admit_to_frame_ms.append(haven[0])
            result.admitted_to_frame_ms.append(haven[1])
            result.baseline_subscribe_ms.append(baseline[0])
            result.baseline_connect_ms.append(baseline[1])
    return result


@dataclass
class MediaLoad:
    publishers: int
    subscribers: int
    janus_cpu_percent: float
    janus_rss_kb: int
    janus_idle_rss_kb: int
    haven_cpu_percent: float
    window_s: float


def media_load(
    stack: Stack,
    host: Host,
    pids: tuple[int, int],
    publishers: int,
    subscribers: int,
    window_s: float,
) -> MediaLoad:
    """k people sending camera and microphone (the host is one), m people only watching,
    in one meeting; Janus's and Haven's CPU and Janus's memory while the media flows."""
    haven_pid, janus_pid = pids
    meeting_id = people.new_meeting(host, f"Media {publishers}x{subscribers}")
    senders = people.attendees(stack, host, meeting_id, publishers - 1, prefix="Sender")
    watchers = people.attendees(stack, host, meeting_id, subscribers, prefix="Watcher")
    idle_rss = procstat.rss_kb(janus_pid)
    # Senders' Chromium has a fake camera and microphone; watchers' has no devices at all.
    with chromiums(stack, True, False) as (with_devices, without_devices):
        host_page = _host_page(with_devices, stack, host, meeting_id)
        pages = [
            _meeting_page(with_devices, stack, meeting_id, who.cookies, camera=True)
            for who in senders
        ] + [
            _meeting_page(without_devices, stack, meeting_id, who.cookies, camera=False)
            for who in watchers
        ]
        for page in pages:
            ui.wait_for_state(page, "waiting")
        if pages:
            host_page.locator("#admit-all").click()
        for page in pages:
            ui.wait_for_state(page, "in_meeting")
        expected = [publishers - 1] * publishers + [publishers] * subscribers
        for page, count in zip([host_page, *pages], expected, strict=True):
            page.wait_for_function(ALL_FEEDS_SHOWING, arg=count, timeout=30_000)
        time.sleep(2)  # past the start-up of every connection
        janus_before, haven_before = procstat.sample(janus_pid), procstat.sample(haven_pid)
        time.sleep(window_s)
        janus_after, haven_after = procstat.sample(janus_pid), procstat.sample(haven_pid)
        for page in [*pages, host_page]:
            page.context.close()
    return MediaLoad(
        publishers=publishers,
        subscribers=subscribers,
        janus_cpu_percent=procstat.cpu_percent(janus_before, janus_after),
        janus_rss_kb=janus_after.rss_kb,
        janus_idle_rss_kb=idle_rss,
        haven_cpu_percent=procstat.cpu_percent(haven_before, haven_after),
        window_s=window_s,
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
