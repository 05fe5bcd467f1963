"""Signalling load: many people speaking Haven's meeting protocol at once, without media.

One asyncio loop holds every connection (websockets over Haven's Unix socket, offering
permessage-deflate as browsers do). For each size, in one meeting:

1. everyone connects, says hello and joins: they wait in the waiting room;
2. admission storm: the host sends one admit_all; the time until the last person has
   `admitted`;
3. chat: messages from different people, a few a second, each from a different sender
   so no connection comes near its limits (docs/protocol.md: 5 chat messages at once,
   then one every 2 s; 60 messages at once, then 20 a second, in all); the latency of
   each message from send to its receipt by every person in the meeting;
4. everyone leaves (their sockets close) before the next size.

Haven's resident memory is read before step 1 and after step 2 (bench/memory figure).
Frames are told apart by a cheap look at their start, so the load generator spends its
time on the sockets, not on parsing rosters of hundreds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, unix_connect

from bench import procstat, profiling
from bench.people import Attendee, Host
from tests.harness import database
from tests.harness.stack import Stack

TYPE = re.compile(r'"type":"([a-z_]+)"')
CHAT_TEXT = re.compile(r'"text":"bench-chat (\d+)"')
CONNECT_AT_ONCE = 50
STEP_TIMEOUT = 60.0


def progress(text: str) -> None:
    print(f"bench:   {text}", flush=True)


@dataclass
class Person:
    """One connection and what it has seen."""

    name: str
    socket: ClientConnection | None = None
    events: dict[str, asyncio.Event] = field(default_factory=dict)
    seen_at: dict[str, float] = field(default_factory=dict)
    chat_received: dict[int, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None
    # The host counts the people in each roster and waiting list it gets.
    counts_people: bool = False
    roster_size: int = -1
    waiting_size: int = -1
    last_message_at: float = 0.0

    def event(self, kind: str) -> asyncio.Event:
        return self.events.setdefault(kind, asyncio.Event())

    async def read(self) -> None:
        assert self.socket is not None
        try:
            async for raw in self.socket:
                now = self.last_message_at = time.perf_counter()
                text = raw if isinstance(raw, str) else raw.decode()
                found = TYPE.search(text, 0, 80)
                kind = found.group(1) if found else "?"
                if kind == "chat":
                    number = CHAT_TEXT.search(text)
                    if number:
                        self.chat_received[int(number.group(1))] = now
                elif kind == "error":
                    self.errors.append(text[:200])
                elif self.counts_people and kind in ("roster", "waiting_list"):
                    size = text.count('"participant":"p_')
                    if kind == "roster":
                        self.roster_size = size
                    else:
                        self.waiting_size = size
                self.seen_at.setdefault(kind, now)
                self.event(kind).set()
        except Exception as error:  # a dropped connection is an error of the run
            self.errors.append(f"connection lost: {error!r}")
        finally:
            self.event("closed").set()

    async def wait_for(self, kind: str, timeout: float = STEP_TIMEOUT) -> None:
        await asyncio.wait_for(self.event(kind).wait(), timeout)

    async def send(self, message: dict[str, Any]) -> None:
        assert self.socket is not None
        await self.socket.send(json.dumps(message))


async def connect(stack: Stack, meeting_id: str, cookie: str, person: Person) -> None:
    person.socket = await unix_connect(
        str(stack.socket_path),
        uri=f"ws://localhost:{stack.port}/ws/meetings/{meeting_id}/",
        additional_headers={"Cookie": cookie, "Origin": stack.base_url},
        open_timeout=STEP_TIMEOUT,
        max_size=None,
    )
    person.reader = asyncio.create_task(person.read())
    await person.send({"type": "hello", "protocol": 1})
    await person.wait_for("welcome")
    await person.send({"type": "join", "private_place_confirmed": True})


@dataclass
class LevelResult:
    size: int
    connect_s: float
    admit_all_ms: float
    chat_p50_ms: float
    chat_p99_ms: float
    chat_max_ms: float
    chat_messages: int
    deliveries: int
    errors: int
    error_samples: list[str]
    rss_before_kb: int
    rss_waiting_kb: int
    rss_after_kb: int
    rss_after_chat_kb: int

    @property
    def kb_per_participant(self) -> float:
        return (self.rss_after_kb - self.rss_before_kb) / self.size


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation): a real observed value."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


class LoadRun:
    """A host in one meeting, and waves of attendees of growing size."""

    def __init__(self, stack: Stack, haven_pid: int, host: Host, meeting_id: str) -> None:
        self.stack = stack
        self.haven_pid = haven_pid
        self.meeting_id = meeting_id
        self.host_cookie = "; ".join(f"{k}={v}" for k, v in host.client.cookies.items())
        self.host = Person("host", counts_people=True)

    async def start(self) -> None:
        await connect(self.stack, self.meeting_id, self.host_cookie, self.host)
        await self.host.wait_for("joined")

    async def stop(self) -> None:
        if self.host.socket is not None:
            await self.host.socket.close()

    async def level(
        self, attendees: list[Attendee], chat_messages: int, chat_interval: float
    ) -> LevelResult:
        size = len(attendees)
        people = [Person(each.name) for each in attendees]
        rss_before = procstat.rss_kb(self.haven_pid)
        started = time.perf_counter()
        gate = asyncio.Semaphore(CONNECT_AT_ONCE)

        async def arrive(person: Person, who: Attendee) -> None:
            async with gate:
                await connect(self.stack, self.meeting_id, who.cookie_header, person)
                await person.wait_for("waiting")

        await asyncio.gather(*(arrive(p, a) for p, a in zip(people, attendees, strict=True)))
        connect_s = time.perf_counter() - started
        progress(f"{size}: everyone connected and waiting after {connect_s:.1f} s")
        # Every arrival sends the host a new waiting list: let them all arrive first.
        await self._host_quiet()
        if self.host.waiting_size != size:
            self.host.errors.append(
                f"the host's last waiting list had {self.host.waiting_size} of {size} people"
            )

        rss_waiting = procstat.rss_kb(self.haven_pid)
        with profiling.phase(self.haven_pid, f"admit-all-{size}"):
            storm_started = time.perf_counter()
            await self.host.send({"type": "admit_all"})
            await asyncio.gather(*(p.wait_for("admitted") for p in people))
        admit_all_ms = 1000 * (max(p.seen_at["admitted"] for p in people) - storm_started)
        rss_after = procstat.rss_kb(self.haven_pid)
        progress(f"{size}: admit_all took {admit_all_ms:.0f} ms")

        with profiling.phase(self.haven_pid, f"chat-{size}"):
            latencies, expected = await self._chat(people, chat_messages, chat_interval)
        rss_after_chat = procstat.rss_kb(self.haven_pid)
        missing = expected - len(latencies)
        errors = [e for p in people for e in p.errors]
        p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
        progress(f"{size}: chat p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        left = time.perf_counter()
        with profiling.phase(self.haven_pid, f"leave-{size}"):
            await self._everyone_leaves(people)
        progress(f"{size}: everyone left after {time.perf_counter() - left:.1f} s")
        errors += self.host.errors
        self.host.errors.clear()
        if missing:
            errors.append(f"{missing} chat deliveries missing")
        result = LevelResult(
            size=size,
            connect_s=connect_s,
            admit_all_ms=admit_all_ms,
            chat_p50_ms=p50,
            chat_p99_ms=p99,
            chat_max_ms=max(latencies, default=float("nan")),
            chat_messages=chat_messages,
            deliveries=len(latencies),
            errors=len(errors) + max(missing - 1, 0),
            error_samples=errors[:5],
            rss_before_kb=rss_before,
            rss_waiting_kb=rss_waiting,
            rss_after_kb=rss_after,
            rss_after_chat_kb=rss_after_chat,
        )
        return result

    async def _until(self, condition: Any, what: str) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            await asyncio.sleep(0.02)

    async def _host_quiet(self, seconds: float = 0.5) -> None:
        """Wait until the host has had no message for a while (Haven is done sending)."""
        await self._until(
            lambda: time.perf_counter() - self.host.last_message_at > seconds, "a quiet host"
        )

    async def _chat(
        self, people: list[Person], messages: int, interval: float
    ) -> tuple[list[float], int]:
        everyone = [*people, self.host]
        sent_at: dict[int, float] = {}
        for number in range(messages):
            sender = people[number % len(people)]
            sent_at[number] = time.perf_counter()
            await sender.send({"type": "chat", "id": number, "text": f"bench-chat {number}"})
            await asyncio.sleep(interval)
        deadline = time.monotonic() + 10
        expected = messages * len(everyone)
        while time.monotonic() < deadline:
            if sum(len(p.chat_received) for p in everyone) >= expected:
                break
            await asyncio.sleep(0.05)
        latencies = [
            1000 * (at - sent_at[number])
            for p in everyone
            for number, at in p.chat_received.items()
            if number in sent_at
        ]
        for person in everyone:
            person.chat_received.clear()
        return latencies, expected

    async def _everyone_leaves(self, people: list[Person]) -> None:
        """Close every attendee's socket; wait until Haven's roster is the host alone."""
        await asyncio.gather(*(p.socket.close() for p in people if p.socket is not None))
        for person in people:
            if person.reader is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await person.reader
        await self._until(lambda: self._present() == 1, "everyone to leave")
        await self._host_quiet()
        if self.host.roster_size != 1:
            # Between sizes, so it is reported with the next one.
            self.host.errors.append(
                f"after everyone left, the host's last roster had {self.host.roster_size} people"
            )

    def _present(self) -> int:
        """People waiting or in the meeting, host included, from the live database."""
        [row] = database.query(
            self.stack,
            "SELECT COUNT(*) AS n FROM room_participant p JOIN meetings_meeting m"
            " ON m.id = p.meeting_id WHERE m.public_id = ?"
            " AND p.state IN ('waiting', 'admitted')",
            self.meeting_id.replace("-", ""),
        )
        return int(row["n"])
