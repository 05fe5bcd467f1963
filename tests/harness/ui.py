"""What people do on the meeting page, in Chromium: a host and attendees, quickly.

The host signs in and schedules over HTTP (tests/harness/flows.py) and each attendee enters
their passcode the same way; their session cookies then go into a fresh browser context,
so a test spends its time on the meeting page itself. Pages read window.haven (room.js's
test hooks) and the page's own words, never internals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.harness import flows
from tests.harness.browser import axe_violations
from tests.harness.stack import Stack

PHONE = {"width": 320, "height": 700}
DESKTOP = {"width": 1280, "height": 900}

# Totals of what every receiving connection on the page has received, by kind.
INBOUND_STATS = """async () => {
  const totals = {video: {frames: 0, packets: 0}, audio: {samples: 0, packets: 0}};
  for (const pc of window.haven.peerConnections.subscribers.values()) {
    if (pc.connectionState === "closed") continue;
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type !== "inbound-rtp") return;
      const total = totals[s.kind];
      if (!total) return;
      total.packets += s.packetsReceived || 0;
      if (s.kind === "video") total.frames += s.framesDecoded || 0;
      else total.samples += s.totalSamplesReceived || 0;
    });
  }
  return totals;
}"""

# Frames decoded on the connection that receives one feed.
FEED_FRAMES = """async (feed) => {
  const pc = window.haven.peerConnections.subscribers.get(feed);
  if (!pc || pc.connectionState === "closed") return 0;
  let frames = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
  });
  return frames;
}"""

# How the keyboard tests name a control: its id, else what it does and for whom, else its words.
CONTROL_NAME = """(el) => el.id
  || ['action', 'admit', 'turnAway'].filter((k) => el.dataset[k])
    .map((k) => k + '=' + el.dataset[k] + (el.dataset.participant ? ':' : '')
      + (el.dataset.participant || ''))[0]
  || el.textContent.trim()"""

# Every control a keyboard user should be able to reach: shown, enabled, in the tab order.
FOCUSABLE = f"""() => [...document.querySelectorAll('a[href], button, input, select, textarea')]
  .filter((el) => !el.disabled && el.tabIndex >= 0 && el.getClientRects().length > 0
    && getComputedStyle(el).visibility !== 'hidden')
  .map({CONTROL_NAME})"""

FOCUSED = f"""() => {{ const el = document.activeElement;
  return !el || el === document.body ? null : ({CONTROL_NAME})(el); }}"""


@dataclass(frozen=True)
class Meeting:
    """A scheduled meeting and its host's signed-in HTTP client."""

    id: str
    host: httpx.Client
    host_email: str

    def url(self, stack: Stack) -> str:
        return f"{stack.base_url}/room/{self.id}/"


def new_meeting(stack: Stack) -> Meeting:
    host, email = flows.sign_in(stack)
    return Meeting(flows.create_meeting(host), host, email)


def page_with_session(
    browser: Browser, stack: Stack, client: httpx.Client, viewport: dict[str, int] | None = None
) -> Page:
    """A new browser context signed in as the HTTP client is (same session cookie)."""
    context = browser.new_context(viewport=viewport or DESKTOP)  # type: ignore[arg-type]
    cookies = [
        {"name": name, "value": value, "url": stack.base_url}
        for name, value in client.cookies.items()
    ]
    context.add_cookies(cookies)  # type: ignore[arg-type]
    return context.new_page()


def join(page: Page, *, camera: bool = False) -> None:
    """Pre-join: camera as asked, confirm the private place (S9), join."""
    expect(page.get_by_role("heading", name="Before you join")).to_be_visible()
    # The heading shows before the page's script has wired up the controls.
    page.wait_for_function("() => window.haven && window.haven.ready === true")
    if camera:
        page.locator("#camera-on").check()
        expect(page.locator("#prejoin-preview")).to_be_visible()
    page.locator("#private-place").check()
    page.locator("#join-button").click()


def host_joins(
    browser: Browser,
    stack: Stack,
    meeting: Meeting,
    *,
    camera: bool = False,
    viewport: dict[str, int] | None = None,
) -> Page:
    page = page_with_session(browser, stack, meeting.host, viewport)
    page.goto(meeting.url(stack))
    join(page, camera=camera)
    wait_for_state(page, "in_meeting")
    return page


@dataclass
class Attendee:
    page: Page
    invited: flows.Invited
    client: httpx.Client

    @property
    def name(self) -> str:
        return self.invited.name


def attendee_waits(
    browser: Browser,
    stack: Stack,
    meeting: Meeting,
    name: str = "Sam Carter",
    *,
    role: str = "parent_carer",
    camera: bool = False,
    viewport: dict[str, int] | None = None,
) -> Attendee:
    """Invite someone; they enter their passcode, open the room and wait (S2)."""
    invited = flows.invite(stack, meeting.host, meeting.id, name, role=role)
    client = flows.enter_passcode(stack, invited)
    attendee = Attendee(page_with_session(browser, stack, client, viewport), invited, client)
    attendee.page.goto(meeting.url(stack))
    join(attendee.page, camera=camera)
    wait_for_state(attendee.page, "waiting")
    return attendee


def second_device(browser: Browser, stack: Stack, meeting: Meeting, attendee: Attendee) -> Page:
    """The same invitee on another device (the same session): held and flagged (S1)."""
    page = page_with_session(browser, stack, attendee.client)
    page.goto(meeting.url(stack))
    join(page)
    wait_for_state(page, "waiting")
    return page


def let_in(host: Page, attendee: Attendee) -> None:
    host.get_by_role("button", name=f"Let in {attendee.name}").click()
    wait_for_state(attendee.page, "in_meeting")


def wait_for_state(page: Page, state: str, timeout: float = 20_000) -> None:
    page.wait_for_function(
        f"() => window.haven && window.haven.state === '{state}'", timeout=timeout
    )


def haven(page: Page, expression: str) -> Any:
    """Read something from window.haven, e.g. haven(page, "mic")."""
    return page.evaluate(f"() => window.haven.{expression}")


def inbound(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(INBOUND_STATS)
    return result


def wait_for_inbound(page: Page, *, kind: str, more_than: int = 0, timeout_s: float = 20) -> int:
    """Wait until this page has received more than `more_than` packets of a kind."""
    deadline = time.monotonic() + timeout_s
    packets = inbound(page)[kind]["packets"]
    while packets <= more_than and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        packets = inbound(page)[kind]["packets"]
    return int(packets)


def feed_frames(page: Page, feed: int) -> int:
    return int(page.evaluate(FEED_FRAMES, feed))


def assert_accessible(page: Page, where: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe-core violations on {where}: {violations}"


def assert_fits(page: Page, where: str) -> None:
    """Nothing sticks out sideways: the page works at its width (320 px for phones)."""
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{where} is wider than the screen: {widths}"


def tab_to(page: Page, selector: str, limit: int = 120) -> None:
    """Press Tab until the element matching the selector has the focus."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def reachable_by_tab(page: Page, limit: int = 200) -> tuple[list[str], list[str]]:
    """Tab through the whole page once. Returns (every control that should be reachable,
    every control the focus reached), named by id or by action and person."""
    wanted: list[str] = page.evaluate(FOCUSABLE)
    # Start where a keyboard user starts: the first control on the page (the skip link).
    page.evaluate("() => document.querySelector('a[href], button').focus()")
    seen: list[str] = [page.evaluate(FOCUSED)]
    for _ in range(limit):
        page.keyboard.press("Tab")
        name = page.evaluate(FOCUSED)
        if name is None or name == seen[0]:
            break
        seen.append(name)
    return wanted, seen


# The chat (window.haven.chat holds what the page shows; see chat.js)


def send_chat(page: Page, text: str) -> None:
    """Write a message and press "Send to everyone"; wait until the server has stored it."""
    page.locator("#chat-text").fill(text)
    page.locator("#chat-send").click()
    expect(page.locator("#chat-text")).to_have_value("")
    wait_for_chat(page, text)


def wait_for_chat(page: Page, text: str) -> None:
    """Wait until the page shows a chat message with exactly these words."""
    page.wait_for_function("(t) => window.haven.chat.some((m) => m.text === t)", arg=text)


def chat_texts(page: Page) -> list[str]:
    return [message["text"] for message in haven(page, "chat")]


def chat_row(page: Page, text: str) -> Any:
    return page.locator("#chat-list > li", has_text=text)


# The host's actions


def remove(host: Page, attendee: Attendee, reason: str, *, ban: bool) -> None:
    """The host removes (or bans) someone with a reason; they leave at once (S8)."""
    verb = "Ban" if ban else "Remove"
    host.get_by_role("button", name=f"{verb} {attendee.name}").click()
    host.get_by_label(f"Reason (recorded, not shown to {attendee.name})").fill(reason)
    host.locator("#remove-confirm").click()
    wait_for_state(attendee.page, "ended")


def audit_about(stack: Stack, action: str, meeting_id: str) -> list[dict[str, Any]]:
    """Audit rows of one kind about one meeting, whoever the actor was, oldest first."""
    return [row for row in stack.audit(action) if row["meeting_ref"] == meeting_id]
