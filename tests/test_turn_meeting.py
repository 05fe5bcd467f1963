"""TURN in a live meeting: credentials reach people in the meeting only (rule S2).

The stack here has Debian's coturn in its namespace (tests/harness/turn.py), on the
configuration Haven writes, with the namespace's own subnet as the one exception to its
deny list, and Haven sets HAVEN_TURN_FORCE_RELAY.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from haven.media.turn import password_for
from tests.harness import flows
from tests.harness.flows import Socket
from tests.harness.stack import Stack, live_stack


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
