"""The database limiter: the :class:`~gong.domain.ports.Limiter` protocol kept in a table, so
windows and blocks outlive a restart without Redis. It holds the sign-in lockout.

Semantics are the memory and Redis limiters' (one contract suite runs against all of them): at
most ``limit`` counted calls in any ``window_s`` seconds; the first call over the limit is refused
and blocks the key for ``block_s`` seconds; calls during the block are refused and do not extend
it. Each :meth:`~DatabaseLimiter.acquire` is one short transaction that first writes the key's
row, which takes SQLite's write lock before anything is read (no lock upgrade to fail) and gives
PostgreSQL a row to lock (``FOR UPDATE``), so concurrent calls for one key count exactly. Rows
past their ``expires_at`` are deleted about once a minute. Built for rare calls (sign-ins), not
for the robot send path, which keeps its limiter in memory or Redis.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gong.domain.models import RateLimit
from gong.domain.ports import Decision
from gong.storage.rows import insert_for as _insert_for
from gong.storage.schema import limiter_keys

__all__ = ["DatabaseLimiter"]

#: The longest key the table holds.
MAX_KEY = 128
#: How often expired rows are deleted (at most; by whichever call comes after).
PRUNE_EVERY_MS = 60_000


class DatabaseLimiter:
    """A :class:`~gong.domain.ports.Limiter` whose state is a row per key (see the module)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._next_prune = 0

    async def acquire(self, key: str, limit: RateLimit, now_ms: int) -> Decision:
        if limit.unlimited:
            return Decision(True)
        if len(key) > MAX_KEY:
            raise ValueError(f"a limiter key is at most {MAX_KEY} characters")
        if now_ms >= self._next_prune:
            self._next_prune = now_ms + PRUNE_EVERY_MS
            await self.prune(now_ms)
        async with self.engine.begin() as conn:
            await conn.execute(
                _insert_for(conn)(limiter_keys)
                .values(key=key, hits="", blocked_until=0, expires_at=now_ms)
                .on_conflict_do_nothing()
            )
            row = (
                await conn.execute(
                    sa.select(limiter_keys.c.hits, limiter_keys.c.blocked_until)
                    .where(limiter_keys.c.key == key)
                    .with_for_update()
                )
            ).one()
            hits = sorted(int(h) for h in row.hits.split())
            if row.blocked_until > now_ms:
                return Decision(False, blocked_until=row.blocked_until, count=len(hits))
            window_ms = limit.window_s * 1000
            horizon = now_ms - window_ms
            hits = [h for h in hits if h > horizon]
            if len(hits) >= limit.limit:
                if limit.block_s:
                    until = now_ms + limit.block_s * 1000
                    await _save(conn, key, [], until, until)
                    return Decision(False, blocked_until=until, count=limit.limit)
                await _save(conn, key, hits, 0, hits[-1] + window_ms)
                return Decision(False, blocked_until=hits[0] + window_ms, count=len(hits))
            hits.append(now_ms)
            await _save(conn, key, hits, 0, now_ms + window_ms)
            return Decision(True, count=len(hits))

    async def reset(self, key: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(sa.delete(limiter_keys).where(limiter_keys.c.key == key))

    async def prune(self, now_ms: int) -> int:
        """Delete the rows whose window and block are over; returns how many."""
        async with self.engine.begin() as conn:
            result: Any = await conn.execute(
                sa.delete(limiter_keys).where(limiter_keys.c.expires_at <= now_ms)
            )
        return int(result.rowcount or 0)


async def _save(
    conn: AsyncConnection, key: str, hits: list[int], blocked_until: int, expires_at: int
) -> None:
    await conn.execute(
        sa.update(limiter_keys)
        .where(limiter_keys.c.key == key)
        .values(
            hits=" ".join(str(h) for h in hits),
            blocked_until=blocked_until,
            expires_at=expires_at,
        )
    )
