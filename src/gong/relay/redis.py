"""The shared :class:`~gong.domain.ports.Pacer`: the relay's send log per upstream in Redis, so
that every Gong process relaying to one DingTalk webhook keeps one pace between them.

``take`` is one Lua script (check the pause, trim the window, count, add), so two processes
can never both take the last slot. Times come from each caller's clock, as for the limiter.
Redis unreachable raises :class:`~gong.domain.ports.BackendUnavailable`; the relay then waits
and retries, and sends nothing it could not count.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gong.domain.ports import BackendUnavailable
from gong.protocol.pacing import PaceState, SendLog

__all__ = ["RedisPacer"]

_UNLIMITED_TTL_MS = 86_400_000

# KEYS[1] send log (zset), KEYS[2] pause; ARGV now, limit, window_ms, member
_TAKE = """
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
if tonumber(redis.call('GET', KEYS[2]) or '0') > now then
  return 0
end
if limit <= 0 or window <= 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], 86400000)
  return 1
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  return 0
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window + 60000)
return 1
"""

# KEYS[1] pause; ARGV until_ms — keep the later of the current and the new pause. The value is
# compared with the caller's clock; the expiry only cleans up (pauses last minutes, not days).
_PAUSE = """
local until_ms = tonumber(ARGV[1])
if tonumber(redis.call('GET', KEYS[1]) or '0') < until_ms then
  redis.call('SET', KEYS[1], until_ms, 'PX', 604800000)
end
return 1
"""


class RedisPacer:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._take: Any = redis.register_script(_TAKE)
        self._pause: Any = redis.register_script(_PAUSE)
        self._node = uuid.uuid4().hex[:12]
        self._counter = 0

    def _keys(self, key: str) -> list[str]:
        base = f"{self._prefix}:pace:{{{key}}}"
        return [f"{base}:log", f"{base}:pause"]

    async def state(self, key: str, limit: int, window_ms: int, now_ms: int) -> PaceState:
        log_key, pause_key = self._keys(key)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zrange(log_key, 0, -1, withscores=True)
                pipe.get(pause_key)
                entries, paused = await pipe.execute()
        except RedisError as exc:
            raise BackendUnavailable(f"Redis pacer unavailable: {exc}") from exc
        times = [int(score) for _, score in entries]
        return SendLog(times, int(paused or 0)).state(limit, window_ms, now_ms)

    async def take(self, key: str, limit: int, window_ms: int, now_ms: int) -> bool:
        self._counter += 1
        member = f"{now_ms}:{self._node}:{self._counter}"
        try:
            taken = await self._take(keys=self._keys(key), args=[now_ms, limit, window_ms, member])
        except RedisError as exc:
            raise BackendUnavailable(f"Redis pacer unavailable: {exc}") from exc
        return bool(taken)

    async def pause(self, key: str, until_ms: int) -> None:
        try:
            await self._pause(keys=self._keys(key)[1:], args=[until_ms])
        except RedisError as exc:
            raise BackendUnavailable(f"Redis pacer unavailable: {exc}") from exc

    async def restore(self, key: str, sent_at: Sequence[int], paused_until: int) -> None:
        """Count earlier sends if Redis has lost the log (a restart without persistence); a log
        that is there already counts them, so a restarted Gong process adds nothing."""
        log_key, _ = self._keys(key)
        try:
            if sent_at and not await self._redis.exists(log_key):
                await self._redis.zadd(log_key, {f"restored:{t}": t for t in sent_at}, nx=True)
                await self._redis.pexpire(log_key, _UNLIMITED_TTL_MS)
            if paused_until:
                await self.pause(key, paused_until)
        except RedisError as exc:
            raise BackendUnavailable(f"Redis pacer unavailable: {exc}") from exc
