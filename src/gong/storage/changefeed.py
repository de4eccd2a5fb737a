"""The change feed: publish live the messages that another process stored.

Without Redis, each process has its own in-memory broker, so a message stored by another
process — ``gong post`` or another ``gong`` command on the same database, and the robot answers
they trigger — would reach browsers only on reload. The server runs this feed: every
:data:`EVERY_S` (of its clock, through a :class:`~gong.storage.poller.Poller`) it reads
``max(messages.id)`` (one query on the primary key); when that moved, it reads the new *ids* in
order and keeps those this process did not store itself (:meth:`ChangeFeed.stored_here`, called
by the hub). One tick later — so that a message this process is still publishing is never
mistaken for a foreign one — it loads just the foreign rows and publishes them through the local
broker. Under load from this process's own robots a tick costs two index reads, never the rows.
With Redis the broker is shared and no feed runs.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gong.clock import Clock
from gong.domain.models import StoredMessage
from gong.domain.ports import Broker
from gong.domain.service import message_channel, message_event
from gong.storage.poller import Poller
from gong.storage.rows import message_of
from gong.storage.schema import messages

__all__ = ["BATCH", "EVERY_S", "ChangeFeed"]

log = logging.getLogger(__name__)

#: How often the feed looks for new messages, in seconds.
EVERY_S = 0.5
#: Most new ids read per tick.
BATCH = 20_000


class ChangeFeed:
    def __init__(
        self, engine: AsyncEngine, broker: Broker, every_s: float = EVERY_S, *, clock: Clock
    ) -> None:
        self.engine = engine
        self.broker = broker
        self.every_s = every_s
        self._cursor = 0
        self._local: set[int] = set()
        self._candidates: list[int] = []
        self._poller = Poller(
            self.tick,
            every_s,
            clock,
            name="gong-change-feed",
            failure="change feed failed",
            logger=log,
        )

    def stored_here(self, message_id: int) -> None:
        """This process stored (and publishes) the message: the feed must not."""
        if message_id > self._cursor:
            self._local.add(message_id)

    async def _newest(self) -> int:
        async with self.engine.connect() as conn:
            return int(await conn.scalar(sa.select(sa.func.max(messages.c.id))) or 0)

    async def start(self) -> None:
        self._cursor = await self._newest()
        self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()

    async def tick(self) -> int:
        """Publish last tick's foreign messages, then note the new ids; returns how many were
        published."""
        foreign = [i for i in self._candidates if i not in self._local]
        self._local.difference_update(self._candidates)
        self._candidates = []
        published = 0
        if foreign:
            published = await self._publish(foreign)
        if await self._newest() > self._cursor:
            async with self.engine.connect() as conn:
                ids = (
                    (
                        await conn.execute(
                            sa.select(messages.c.id)
                            .where(messages.c.id > self._cursor)
                            .order_by(messages.c.id.asc())
                            .limit(BATCH)
                        )
                    )
                    .scalars()
                    .all()
                )
            if ids:
                self._candidates = list(ids)
                self._cursor = ids[-1]
        return published

    async def _publish(self, ids: list[int]) -> int:
        published = 0
        rows: list[Any] = []
        async with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                rows += (
                    await conn.execute(
                        sa.select(messages).where(messages.c.id.in_(chunk)).order_by(messages.c.id)
                    )
                ).all()
        for row in rows:
            message: StoredMessage = message_of(row)
            event = orjson.dumps(message_event(message.id, message))
            try:
                await self.broker.publish(
                    message_channel(message.group_id, message.visible_to_user_id), event
                )
                published += 1
            except Exception as exc:
                log.warning("live fan-out of message %d failed: %s", message.id, exc)
        return published
