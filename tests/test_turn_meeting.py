"""TURN in a live meeting (issue 7, item 4): credentials reach people in the meeting only
(rule S2), and a browser that may only use TURN meets through it.

The stack here has Debian's coturn as a host of its own on the test namespace's link
(tests/harness/turn.py), on the configuration Haven writes, with Janus's address as the
one exception to its deny list; and Haven sets HAVEN_TURN_FORCE_RELAY, so every browser
uses relay candidates only (iceTransportPolicy "relay").
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from haven.media.turn import password_for
from tests.harness import flows, ui
from tests.harness.browser import chromium
from tests.harness.flows import Socket
from tests.harness.stack import Stack, live_stack
from tests.harness.turn import JANUS_ADDRESS, TURN_ADDRESS


@pytest.fixture(scope="module")
def turn_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder: Path = tmp_path_factory.mktemp("turn-stack")
    with live_stack(folder, turn=True) as running:
        yield running


def check_credential(stack: Stack, servers: list[dict[str, object]]) -> str:
    [server] = servers
    assert server["urls"] == [stack.env["HAVEN_TURN_URLS"]]
    username = str(server["username"])
    expiry, _, opaque = username.partition(":")
    assert int(expiry) > time.time() + 3600 and len(opaque) == 16
    assert server["credential"] == password_for(stack.env["HAVEN_TURN_SECRET"], username)
    return username


def test_S2_turn_credentials_reach_people_in_the_meeting_only(turn_stack: Stack) -> None:
    host_client, _ = flows.sign_in(turn_stack)
    meeting_id = flows.create_meeting(host_client)
    invited = flows.invite(turn_stack, host_client, meeting_id)
    attendee_client = flows.enter_passcode(turn_stack, invited)
    host = Socket(turn_stack, host_client, meeting_id)
    joined = flows.join(host)
    assert joined["type"] == "joined" and joined["relay_only"] is True
    host_username = check_credential(turn_stack, joined["ice_servers"])

    attendee = Socket(turn_stack, attendee_client, meeting_id)
    waiting = flows.join(attendee)
    assert waiting["type"] == "waiting"
    assert "ice_servers" not in waiting and "relay_only" not in waiting
    listed = host.expect("waiting_list")["waiting"]
    assert attendee.nothing_arrives(0.5) == []
    host.send({"type": "admit", "participant": listed[0]["participant"]})
    admitted = attendee.expect("admitted")
    # Each admission gets its own credential.
    assert check_credential(turn_stack, admitted["ice_servers"]) != host_username


def test_without_turn_settings_nothing_about_turn_is_sent(stack: Stack) -> None:
    host_client, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host_client)
    joined = flows.join(Socket(stack, host_client, meeting_id))
    assert joined["type"] == "joined"
    assert "ice_servers" not in joined and "relay_only" not in joined


# The path each connection on the page chose: the two ends of its selected candidate pair.
CHOSEN_PATHS = """async () => {
  const h = window.haven.peerConnections;
  const named = [["publisher", h.publisher],
                 ...[...h.subscribers].map(([feed, pc]) => ["feed " + feed, pc])];
  const out = [];
  for (const [name, pc] of named) {
    if (!pc) continue;
    const stats = await pc.getStats();
    const byId = new Map();
    stats.forEach((s) => byId.set(s.id, s));
    let pair = null;
    stats.forEach((s) => {
      if (s.type === "transport" && s.selectedCandidatePairId) {
        pair = byId.get(s.selectedCandidatePairId);
      }
    });
    const end = (id) => {
      const c = byId.get(id);
      return c ? {type: c.candidateType, address: c.address, port: c.port,
                  relayProtocol: c.relayProtocol || null} : null;
    };
    const config = pc.getConfiguration();
    out.push({
      name,
      state: pc.connectionState,
      policy: config.iceTransportPolicy,
      username: config.iceServers.length ? config.iceServers[0].username : null,
      local: pair ? end(pair.localCandidateId) : null,
      remote: pair ? end(pair.remoteCandidateId) : null,
      bytesReceived: pair ? pair.bytesReceived : 0,
      bytesSent: pair ? pair.bytesSent : 0,
    });
  }
  return out;
}"""

# coturn's count of what one allocation relayed to and from its peers, written when the
# allocation ends (verbose log): received and sent packets and bytes.
PEER_USAGE = re.compile(
    r"session (\d+): peer usage: realm=<[^>]*>, username=<([^>]*)>, "
    r"rp=(\d+), rb=(\d+), sp=(\d+), sb=(\d+)"
)


def chosen_paths(page: Page) -> list[dict[str, Any]]:
    paths: list[dict[str, Any]] = page.evaluate(CHOSEN_PATHS)
    return paths


def coturn_log(stack: Stack) -> str:
    return (stack.folder / "turn" / "coturn.log").read_text()


def allocations(stack: Stack, username: str, event: str) -> set[str]:
    """coturn's sessions (allocations) for this credential that logged the event:
    "new" when made, "closed" when ended."""
    pattern = {
        "new": rf"session (\d+): new, realm=<[^>]*>, username=<{re.escape(username)}>",
        "closed": rf"session (\d+): closed \(2nd stage\), user <{re.escape(username)}>",
    }[event]
    return set(re.findall(pattern, coturn_log(stack)))


def relayed_bytes(stack: Stack, username: str) -> int:
    """Bytes coturn relayed between Janus and allocations made with this credential."""
    return sum(
        int(match[4]) + int(match[6])
        for match in PEER_USAGE.finditer(coturn_log(stack))
        if match[2] == username
    )


@pytest.mark.browser
def test_I7_4_media_is_relayed_when_the_browser_may_only_use_turn(turn_stack: Stack) -> None:
    assert turn_stack.env["HAVEN_TURN_URLS"].startswith(f"turn:{TURN_ADDRESS}:")
    meeting = ui.new_meeting(turn_stack)
    with chromium(turn_stack) as browser:
        host = ui.host_joins(browser, turn_stack, meeting, camera=True)
        attendee = ui.attendee_waits(browser, turn_stack, meeting, camera=True)
        ui.let_in(host, attendee)
        page = attendee.page
        # The attendee sees the host: video frames decoded from the host's feed, and their
        # own camera goes up to Janus (both connections connected).
        deadline = time.monotonic() + 30
        paths, frames = chosen_paths(page), 0
        while time.monotonic() < deadline:
            paths, frames = chosen_paths(page), ui.inbound(page)["video"]["frames"]
            if frames >= 20 and [p["state"] for p in paths] == ["connected", "connected"]:
                break
            page.wait_for_timeout(200)
        assert frames >= 20, (frames, paths, coturn_log(turn_stack)[-3000:])
        assert [p["name"].split()[0] for p in paths] == ["publisher", "feed"], paths

        # The browser's side: each connection's chosen path starts at a relay candidate on
        # our coturn and ends at Janus; no other path was allowed.
        for path in paths:
            assert path["state"] == "connected" and path["policy"] == "relay", path
            assert path["local"]["type"] == "relay", path
            assert path["local"]["relayProtocol"] == "udp", path
            assert path["local"]["address"] == TURN_ADDRESS, path
            assert path["remote"]["address"] == JANUS_ADDRESS, path
            assert path["bytesReceived"] > 0 and path["bytesSent"] > 0, path
        [username] = {path["username"] for path in paths}  # the one given at admission

        # coturn's side: allocations with the attendee's credential, on the very relay
        # ports the browser reports, with permission to Janus's address only.
        log = coturn_log(turn_stack)
        for path in paths:
            assert f"Local relay addr: {TURN_ADDRESS}:{path['local']['port']}" in log, log[-3000:]
        own = [line for line in log.splitlines() if f"<{username}>" in line]
        assert [line for line in own if "ALLOCATE processed, success" in line], own
        assert [line for line in own if "CREATE_PERMISSION processed, success" in line], own
        peers = set(re.findall(r"peer (\S+) lifetime updated", log))
        assert peers == {JANUS_ADDRESS}, peers

        # When the attendee leaves, their allocations end and coturn counts what it relayed
        # between them and Janus: media, far more than the few kilobytes of ICE and DTLS.
        page.locator("#meeting-leave").click()
        ui.wait_for_state(page, "ended")
        made = allocations(turn_stack, username, "new")
        assert len(made) >= len(paths), made
        deadline = time.monotonic() + 20
        while not made <= allocations(turn_stack, username, "closed"):
            assert time.monotonic() < deadline, coturn_log(turn_stack)[-3000:]
            time.sleep(0.2)
        relayed = relayed_bytes(turn_stack, username)
        assert relayed > 50_000, (relayed, own[-10:])
        print(f"\nrelay-only attendee: {frames} frames decoded, {relayed} bytes relayed by coturn")
