"""DingTalk's rate limit, with time moved by hand: 20 in any 60 s, the 21st blocks 10 minutes.

Every test runs against each backend: in-process memory, the shared Redis script, and the
database (SQLite and PostgreSQL), which holds the sign-in lockout when Redis is not configured.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.models import RateLimit
from gong.domain.ports import Limiter
from gong.ratelimit.memory import MemoryLimiter
from gong.storage.database import open_database
from gong.storage.limits import DatabaseLimiter
from tests.conftest import _pg_reset
from tests.helpers import run_sync

Make = Callable[[], Limiter]


@pytest.fixture(params=["memory", "redis", "sqlite", "postgres"])
async def new_limiter(request: pytest.FixtureRequest) -> AsyncIterator[Make]:
    """A factory of limiters sharing one backend (several Redis or database limiters share
    state, as several processes would)."""
    if request.param == "memory":
        shared = MemoryLimiter()
        yield lambda: shared
        return
    if request.param in ("sqlite", "postgres"):
        settings: Settings = request.getfixturevalue("sqlite_settings")
        if request.param == "postgres":
            url = request.getfixturevalue("pg_database")
            run_sync(_pg_reset(url))
            settings = settings.model_copy(update={"database_url": url})
        engine = await open_database(settings)
        try:
            yield lambda: DatabaseLimiter(engine)
        finally:
            await engine.dispose()
        return
    from gong.ratelimit.redis import RedisLimiter
    from gong.runtime import redis_client

    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    clients = []

    def make() -> Limiter:
        client = redis_client(url)
        clients.append(client)
        return RedisLimiter(client, prefix)

    yield make
    if clients:
        keys = [k async for k in clients[0].scan_iter(f"{prefix}:*")]
        if keys:
            await clients[0].delete(*keys)
    for client in clients:
        await client.aclose()


DINGTALK = RateLimit(20, 60, 600)


async def test_twenty_then_a_ten_minute_block(new_limiter: Make) -> None:
    clock, limiter = ManualClock(0), new_limiter()
    for i in range(20):
        assert (await limiter.acquire("r", DINGTALK, clock.now_ms())).allowed, i
        clock.advance(1000)
    refused = await limiter.acquire("r", DINGTALK, clock.now_ms())  # t = 20 s
    assert not refused.allowed
    assert refused.blocked_until == 20_000 + 600_000
    # Calls during the block are refused and do not extend it, even after the window passed.
    clock.set(300_000)
    assert not (await limiter.acquire("r", DINGTALK, clock.now_ms())).allowed
    clock.set(619_999)
    assert not (await limiter.acquire("r", DINGTALK, clock.now_ms())).allowed
    clock.set(620_000)
    for _ in range(20):
        assert (await limiter.acquire("r", DINGTALK, clock.now_ms())).allowed
    assert not (await limiter.acquire("r", DINGTALK, clock.now_ms())).allowed


async def test_the_window_slides(new_limiter: Make) -> None:
    clock, limiter = ManualClock(0), new_limiter()
    # 20 spread over the first 40 s: the 21st at 59.999 s is over the limit.
    for _ in range(20):
        assert (await limiter.acquire("a", DINGTALK, clock.now_ms())).allowed
        clock.advance(2_000)
    clock.set(59_999)
    assert not (await limiter.acquire("a", DINGTALK, clock.now_ms())).allowed

    # Another robot: 10 at t=0, 10 at t=30 s; at t=60 s the first 10 have left the window.
    for _ in range(10):
        assert (await limiter.acquire("b", DINGTALK, 0)).allowed
    for _ in range(10):
        assert (await limiter.acquire("b", DINGTALK, 30_000)).allowed
    for _ in range(10):
        assert (await limiter.acquire("b", DINGTALK, 60_000)).allowed
    assert not (await limiter.acquire("b", DINGTALK, 60_000)).allowed


async def test_keys_are_independent(new_limiter: Make) -> None:
    limiter = new_limiter()
    for _ in range(20):
        assert (await limiter.acquire("x", DINGTALK, 0)).allowed
    assert not (await limiter.acquire("x", DINGTALK, 0)).allowed
    assert (await limiter.acquire("y", DINGTALK, 0)).allowed


async def test_zero_means_unlimited(new_limiter: Make) -> None:
    limiter = new_limiter()
    for limit in (RateLimit(0, 60, 600), RateLimit(5, 0, 600)):
        for _ in range(500):
            assert (await limiter.acquire(str(limit), limit, 0)).allowed


async def test_zero_block_refuses_only_the_excess(new_limiter: Make) -> None:
    limiter, limit = new_limiter(), RateLimit(2, 10, 0)
    assert (await limiter.acquire("k", limit, 0)).allowed
    assert (await limiter.acquire("k", limit, 1_000)).allowed
    refused = await limiter.acquire("k", limit, 2_000)
    assert not refused.allowed
    assert refused.blocked_until == 10_000  # when the oldest leaves the window
    assert (await limiter.acquire("k", limit, 10_000)).allowed


async def test_custom_limits_and_reset(new_limiter: Make) -> None:
    limiter, limit = new_limiter(), RateLimit(3, 5, 30)
    for _ in range(3):
        assert (await limiter.acquire("k", limit, 0)).allowed
    assert not (await limiter.acquire("k", limit, 0)).allowed
    assert not (await limiter.acquire("k", limit, 29_999)).allowed
    await limiter.reset("k")
    assert (await limiter.acquire("k", limit, 29_999)).allowed


async def test_instances_share_one_limit(new_limiter: Make) -> None:
    """21 calls spread over three limiter instances: exactly 20 accepted (with Redis, the
    instances could be in three processes on three machines)."""
    limiters = [new_limiter() for _ in range(3)]
    decisions = [await limiters[i % 3].acquire("shared", DINGTALK, 1_000 + i) for i in range(21)]
    assert [d.allowed for d in decisions] == [True] * 20 + [False]
    assert not (await limiters[1].acquire("shared", DINGTALK, 5_000)).allowed


async def test_concurrent_calls_count_exactly(new_limiter: Make) -> None:
    limiters = [new_limiter() for _ in range(3)]
    decisions = await asyncio.gather(
        *(limiters[i % 3].acquire("burst", DINGTALK, 1_000) for i in range(25))
    )
    assert sorted(d.allowed for d in decisions) == [False] * 5 + [True] * 20
