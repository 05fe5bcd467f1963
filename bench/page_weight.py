"""Page weight: the JavaScript and CSS an attendee's browser loads.

An attendee opens their personal link (the passcode page), types the passcode, and lands
on the meeting page, where they join and wait. Every script and stylesheet response
Chromium gets is counted from Playwright's response events, two ways:

- transferred: what came over the network for it, as the browser got it (it says which
  encodings it accepts; Haven serves the gzip copy collectstatic makes): response headers
  plus the body as sent. This is the figure with the target.
- uncompressed: the decoded body, what the browser parses.

The bench's stack serves static files as production does (collectstatic, then WhiteNoise
from the collected folder: tests/harness/stack.py, ``collected_static``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from playwright.sync_api import Response

from bench import people
from tests.harness import ui
from tests.harness.browser import chromium
from tests.harness.stack import Stack

KINDS = {"script": "js", "stylesheet": "css"}


@dataclass
class Weight:
    """Bytes by kind for one page, and every file that counted."""

    js: int = 0
    css: int = 0
    # Transferred: headers plus the body as sent (compressed when it was).
    js_wire: int = 0
    css_wire: int = 0
    files: dict[str, int] = field(default_factory=dict)
    files_wire: dict[str, int] = field(default_factory=dict)
    encodings: dict[str, str] = field(default_factory=dict)

    def add(self, response: Response) -> None:
        kind = KINDS.get(response.request.resource_type)
        if kind is None or response.status >= 400:
            return
        size = len(response.body())
        sizes = response.request.sizes()
        wire = sizes["responseBodySize"] + sizes["responseHeadersSize"]
        setattr(self, kind, getattr(self, kind) + size)
        setattr(self, f"{kind}_wire", getattr(self, f"{kind}_wire") + wire)
        name = response.url.rsplit("/", 1)[-1]
        self.files[name] = size
        self.files_wire[name] = wire
        self.encodings[name] = response.headers.get("content-encoding", "identity")

    @property
    def uncompressed(self) -> int:
        return self.js + self.css

    @property
    def transferred(self) -> int:
        return self.js_wire + self.css_wire


@dataclass
class PageWeights:
    passcode: Weight
    meeting: Weight

    @property
    def total(self) -> int:
        """Transferred, each file once, as a browser with a cache loads them over both pages."""
        return sum({**self.passcode.files_wire, **self.meeting.files_wire}.values())

    @property
    def total_uncompressed(self) -> int:
        return sum({**self.passcode.files, **self.meeting.files}.values())


def measure(stack: Stack, host: people.Host) -> PageWeights:
    meeting_id = people.new_meeting(host, "Page weight")
    mailbox = people.Mailbox(stack.maildir)
    address = f"weight-{meeting_id[:8]}@example.org"
    people.invite(stack, host, meeting_id, "Page Weight", address)
    people.consent(stack, mailbox, address)
    link, passcode = mailbox.link_and_passcode(address)
    passcode_page, meeting_page = Weight(), Weight()
    with chromium(stack) as browser:
        # No cache: each page's own bill, as on a first visit.
        context = browser.new_context(viewport=ui.PHONE)  # type: ignore[arg-type]
        context.route("**/*", lambda route: route.continue_())  # routing turns the cache off
        page = context.new_page()
        page.on("response", passcode_page.add)
        page.goto(link)
        page.wait_for_load_state("networkidle")
        page.remove_listener("response", passcode_page.add)
        page.on("response", meeting_page.add)
        page.get_by_label("Passcode").fill(passcode)
        page.get_by_role("button", name="Continue").click()
        ui.join(page)
        ui.wait_for_state(page, "waiting")
        page.wait_for_load_state("networkidle")
        context.close()
    return PageWeights(passcode_page, meeting_page)
