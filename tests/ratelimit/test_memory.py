"""DingTalk's rate limit, with time moved by hand: 20 in any 60 s, the 21st blocks 10 minutes."""

from __future__ import annotations

from gong.clock import ManualClock
from gong.domain.models import RateLimit
from gong.ratelimit.memory import MemoryLimiter

DINGTALK = RateLimit(20, 60, 600)


async def test_twenty_then_a_ten_minute_block() -> None:
    clock, limiter = ManualClock(0), MemoryLimiter()
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


async def test_the_window_slides() -> None:
    clock, limiter = ManualClock(0), MemoryLimiter()
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


async def test_keys_are_independent() -> None:
    limiter = MemoryLimiter()
    for _ in range(20):
        assert (await limiter.acquire("x", DINGTALK, 0)).allowed
    assert not (await limiter.acquire("x", DINGTALK, 0)).allowed
    assert (await limiter.acquire("y", DINGTALK, 0)).allowed


async def test_zero_means_unlimited() -> None:
    limiter = MemoryLimiter()
    for limit in (RateLimit(0, 60, 600), RateLimit(5, 0, 600)):
        for _ in range(500):
            assert (await limiter.acquire(str(limit), limit, 0)).allowed


async def test_zero_block_refuses_only_the_excess() -> None:
    limiter, limit = MemoryLimiter(), RateLimit(2, 10, 0)
    assert (await limiter.acquire("k", limit, 0)).allowed
    assert (await limiter.acquire("k", limit, 1_000)).allowed
    refused = await limiter.acquire("k", limit, 2_000)
    assert not refused.allowed
    assert refused.blocked_until == 10_000  # when the oldest leaves the window
    assert (await limiter.acquire("k", limit, 10_000)).allowed


async def test_custom_limits_and_reset() -> None:
    limiter, limit = MemoryLimiter(), RateLimit(3, 5, 30)
    for _ in range(3):
        assert (await limiter.acquire("k", limit, 0)).allowed
    assert not (await limiter.acquire("k", limit, 0)).allowed
    assert not (await limiter.acquire("k", limit, 29_999)).allowed
    await limiter.reset("k")
    assert (await limiter.acquire("k", limit, 29_999)).allowed
