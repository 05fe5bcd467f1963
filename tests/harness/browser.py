"""Debian's Chromium, driven by Playwright, running inside the test namespace."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

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
    return [
        f"{violation['id']}: {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"])
        for violation in results.response["violations"]
    ]
