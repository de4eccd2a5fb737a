"""The shared limiter: DingTalk's semantics held across every Gong process, in one Lua script.

Each key has a sorted set of accepted messages (score = time) and a block key. The script runs
atomically in Redis, so 21 calls spread over any number of instances accept exactly 20. Times
come from the caller's clock (run NTP on every host; a few milliseconds of skew only shift the
window edges).

If Redis cannot be reached, :meth:`RedisLimiter.acquire` raises :class:`LimiterUnavailable`; the
robot API then answers ``-1 系统繁忙`` so the sender retries later. Gong never falls back to a
per-process limit, which would silently let N instances accept N times the limit.
"""

from __future__ import annotations

import uuid
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gong.domain.models import RateLimit
from gong.domain.ports import BackendUnavailable, Decision

__all__ = ["LimiterUnavailable", "RedisLimiter"]

# KEYS[1] window (zset), KEYS[2] block; ARGV now, limit, window_ms, block_ms, member
_ACQUIRE = """
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local block = tonumber(ARGV[4])
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
if blocked > now then
  return {0, blocked, redis.call('ZCARD', KEYS[1])}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  if block > 0 then
    local until_ms = now + block
    redis.call('SET', KEYS[2], until_ms, 'PX', block)
    redis.call('DEL', KEYS[1])
    return {0, until_ms, limit}
  end
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window, count}
end
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0, count + 1}
"""


class LimiterUnavailable(BackendUnavailable):
    """Redis could not be asked; no decision was made."""


class RedisLimiter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._script: Any = redis.register_script(_ACQUIRE)
        self._node = uuid.uuid4().hex[:12]
        self._counter = 0

    def _keys(self, key: str) -> list[str]:
        base = f"{self._prefix}:rl:{{{key}}}"  # one hash slot per key, for Redis Cluster
        return [f"{base}:w", f"{base}:b"]

    async def acquire(self, key: str, limit: RateLimit, now_ms: int) -> Decision:
        if limit.unlimited:
            return Decision(True)
        self._counter += 1
        member = f"{now_ms}:{self._node}:{self._counter}"
        try:
            allowed, until, count = await self._script(
                keys=self._keys(key),
                args=[now_ms, limit.limit, limit.window_s * 1000, limit.block_s * 1000, member],
            )
        except RedisError as exc:
            raise LimiterUnavailable(f"Redis limiter unavailable: {exc}") from exc
        return Decision(bool(allowed), blocked_until=int(until) or None, count=int(count))

    async def reset(self, key: str) -> None:
        try:
            await self._redis.delete(*self._keys(key))
        except RedisError as exc:
            raise LimiterUnavailable(f"Redis limiter unavailable: {exc}") from exc
