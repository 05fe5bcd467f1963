"""Token buckets per person in a meeting, so one client cannot flood the server or Janus.

An allowance belongs to the person, not to their connection: the meeting and their
invitation (an attendee) or their staff account (the host). Reconnecting, resuming their
place on a new socket, or opening a second tab gives no fresh allowance (issue 20, item
11). With REDIS_URL set (several Haven processes, each may serve the person's next
connection) the buckets live in Redis, updated by one small Lua script so that taking a
token is atomic across processes and timed by Redis's own clock; otherwise in this
process.

If Redis does not answer, the process counts on its own buckets for a while (logged at
WARNING, not ERROR): a person is still limited, and the meeting goes on.
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from haven.room.access import Identity

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """`burst` messages at once, then `rate` a second."""

    name: str
    rate: float
    burst: int


# Every frame a person sends (docs/protocol.md, `rate_limited`).
MESSAGES = Limit("messages", rate=20, burst=60)
# Chat messages: at most 5 at once, then one every 2 seconds.
CHAT = Limit("chat", rate=0.5, burst=5)
# Raising and lowering hands, each sent on to everyone in the meeting: 10 at once, then one
# a second (a person clicking the button never comes near it; a script toggling does).
HANDS = Limit("hands", rate=1, burst=10)

# How long to count locally after Redis failed to answer, before trying it again.
REDIS_RETRY_SECONDS = 5.0
REDIS_TIMEOUT_SECONDS = 0.5
# In-process buckets kept at most; beyond it, the full (idle) ones are dropped.
MAX_LOCAL_BUCKETS = 20_000


class TokenBucket:
    """Allows `burst` messages at once and `rate` per second after that."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def full(self) -> bool:
        return self.tokens + (time.monotonic() - self.updated) * self.rate >= self.burst


def person_key(identity: "Identity") -> str:
    """Whose allowance: one person in one meeting, whichever connection they are on."""
    meeting = identity.meeting.pk
    if identity.user is not None:
        return f"{meeting}:staff:{identity.user.pk}"
    assert identity.invitation is not None
    return f"{meeting}:invitation:{identity.invitation.pk}"


async def allow(limit: Limit, key: str) -> bool:
    """Take one token from this person's bucket for `limit`; False if there is none."""
    if settings.REDIS_URL and time.monotonic() >= _redis_state.retry_at:
        try:
            return await _redis_allow(limit, key)
        except Exception as error:
            _redis_state.retry_at = time.monotonic() + REDIS_RETRY_SECONDS
            logger.warning("Rate limits counted in this process: Redis failed (%s)", error)
    return _local_allow(limit, key)


# In this process


_local: dict[tuple[str, str], TokenBucket] = {}


def _local_allow(limit: Limit, key: str) -> bool:
    bucket = _local.get((limit.name, key))
    if bucket is None:
        if len(_local) >= MAX_LOCAL_BUCKETS:
            for old in [k for k, b in _local.items() if b.full()]:
                del _local[old]
        bucket = _local[(limit.name, key)] = TokenBucket(limit.rate, limit.burst)
    return bucket.allow()


def reset_local() -> None:
    """Forget every in-process bucket (tests)."""
    _local.clear()


# In Redis

# KEYS[1]: the bucket; ARGV: rate a second, burst. Time from Redis itself, so processes
# on machines whose clocks differ still agree. The bucket expires once it would be full.
BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return allowed
"""


@dataclass
class _RedisState:
    retry_at: float = float("-inf")
    # One client per event loop (a redis.asyncio connection belongs to the loop it was
    # made on): the loop, its client, its registered script.
    loop: Any = None
    client: Any = None
    script: Any = None


_redis_state = _RedisState()


async def _redis_allow(limit: Limit, key: str) -> bool:
    script = _script_for_this_loop()
    allowed = await script(
        keys=[f"haven:ratelimit:{limit.name}:{key}"], args=[limit.rate, limit.burst]
    )
    return bool(int(allowed))


def _script_for_this_loop() -> Any:
    import redis.asyncio

    loop = asyncio.get_running_loop()
    if _redis_state.loop is not loop:
        client = redis.asyncio.from_url(
            settings.REDIS_URL,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        _redis_state.loop = loop
        _redis_state.client = client
        _redis_state.script = client.register_script(BUCKET_SCRIPT)
    return _redis_state.script
