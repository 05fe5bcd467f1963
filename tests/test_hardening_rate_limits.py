"""Hardening (issue 20, item 11): a rate limit belongs to the person, not the connection.

Before, each connection had its own buckets: someone who had used up their chat
allowance reconnected (resuming their place) and had a fresh one. Now the allowance is
the person's in the meeting (their invitation, or the host's account), in this process
or, with REDIS_URL, in Redis for every process of the deployment.
"""

import asyncio
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from haven.room import ratelimit
from tests.harness import flows
from tests.harness.flows import Socket
from tests.harness.stack import (
    HavenServer,
    Stack,
    _redis_command,
    _wait_for_redis,
    several_processes,
)
from tests.test_in_meeting_protocol import arrive, start_meeting

RESUME = {"type": "join", "private_place_confirmed": True}


def use_up_chat(socket: Socket) -> list[str | None]:
    """Chat until refused; the codes of the answers (None for chat_sent)."""
    codes: list[str | None] = []
    for n in range(ratelimit.CHAT.burst + 3):
        codes.append(socket.request({"type": "chat", "text": f"message {n}"}).get("code"))
        if codes[-1] == "rate_limited":
            return codes
    raise AssertionError(f"never rate limited: {codes}")


def resume_on(stack: Stack, client, meeting_id: str, secret: str) -> Socket:
    socket = Socket(stack, client, meeting_id)
    flows.greet(socket)
    again = socket.request({**RESUME, "resume": secret})
    assert again["type"] == "admitted", again
    return socket


def let_in(stack: Stack, meeting, name: str):
    socket, pid, waiting, invited = arrive(stack, meeting, name)
    meeting.host.send({"type": "admit", "participant": pid})
    socket.expect("admitted")
    return socket, pid, waiting["resume"], invited


def test_hardening_rate_limits_reconnecting_gives_no_fresh_chat_allowance(stack):
    meeting = start_meeting(stack)
    sam, _, secret, invited = let_in(stack, meeting, "Sam Carter")
    codes = use_up_chat(sam)
    assert codes[: ratelimit.CHAT.burst] == [None] * ratelimit.CHAT.burst
    # Back on a new connection (their page reconnects), in the same place: still none.
    client = flows.enter_passcode(stack, invited)
    again = resume_on(stack, client, meeting.id, secret)
    assert again.request({"type": "chat", "text": "and again"})["code"] == "rate_limited"
    # Someone else in the meeting is not limited by Sam's use.
    kim, _, _, _ = let_in(stack, meeting, "Kim Lee")
    assert kim.request({"type": "chat", "text": "hello"})["type"] == "chat_sent"


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A redis-server of this test's own, on a Unix socket."""
    socket_path = tmp_path / "redis.sock"
    log = tmp_path / "redis.log"
    with log.open("wb") as output:
        process = subprocess.Popen(_redis_command(tmp_path, socket_path), stdout=output)
    try:
        _wait_for_redis(process, socket_path, log)
        yield f"unix://{socket_path}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_hardening_rate_limits_with_redis_the_bucket_is_shared_by_every_process(
    settings, redis_url, caplog
):
    settings.REDIS_URL = redis_url
    ratelimit._redis_state.retry_at = float("-inf")
    limit = ratelimit.Limit("test-chat", rate=0.001, burst=3)

    async def take(key: str, count: int) -> list[bool]:
        return [await ratelimit.allow(limit, key) for _ in range(count)]

    assert asyncio.run(take("1:invitation:7", 4)) == [True, True, True, False]
    # Another process (nothing local; a new event loop and connection): still used up.
    ratelimit.reset_local()
    assert asyncio.run(take("1:invitation:7", 1)) == [False]
    assert asyncio.run(take("1:invitation:8", 1)) == [True]  # someone else's is their own
    assert not ratelimit._local  # nothing was counted in this process
    # Redis gone: counted in this process instead, a warning, no exception.
    settings.REDIS_URL = "unix:///nonexistent/redis.sock"
    ratelimit._redis_state.loop = None
    with caplog.at_level(logging.WARNING, logger="haven.room.ratelimit"):
        assert asyncio.run(take("1:invitation:9", 4)) == [True, True, True, False]
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    ratelimit._redis_state.retry_at = float("-inf")
    ratelimit._redis_state.loop = None


@pytest.fixture(scope="module")
def servers(stack: Stack) -> Iterator[list[HavenServer]]:
    with several_processes(stack, 2) as running:
        yield running


def test_hardening_rate_limits_a_reconnect_to_another_process_gives_no_fresh_allowance(
    stack, servers
):
    first, second = servers
    meeting = start_meeting(first.view)
    sam, _, secret, invited = let_in(first.view, meeting, "Sam Carter")
    use_up_chat(sam)
    client = flows.enter_passcode(first.view, invited)
    again = resume_on(second.view, client, meeting.id, secret)
    assert again.request({"type": "chat", "text": "from B"})["code"] == "rate_limited"
