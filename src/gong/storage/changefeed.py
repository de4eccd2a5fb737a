"""The change feed: publish live the messages that another process stored.

Without Redis, each process has its own in-memory broker, so a message stored by another
process — ``gong post`` or another ``gong`` command on the same database, and the robot answers
they trigger — would reach browsers only on reload. The server runs this feed: every
:data:`EVERY_S` it reads ``max(messages.id)`` (one query on the primary key); when that moved,
it reads the new rows in id order and publishes, through the local broker, those this process
did not store itself (:meth:`ChangeFeed.stored_here`, called by the hub). A new row is published
one tick after it is first seen, so a message this process is still publishing is never
mistaken for a foreign one. With Redis the broker is shared and no feed runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gong.domain.models import StoredMessage
from gong.domain.ports import Broker
from gong.domain.service import message_channel, stored_event
from gong.storage.repository import _message
from gong.storage.schema import messages

__all__ = ["BATCH", "EVERY_S", "ChangeFeed"]

log = logging.getLogger(__name__)

#: How often the feed looks for new messages, in seconds.
EVERY_S = 0.5
#: Most new messages read per tick.
BATCH = 500


class ChangeFeed:
    def __init__(self, engine: AsyncEngine, broker: Broker, every_s: float = EVERY_S) -> None:
        self.engine = engine
        self.broker = broker
        self.every_s = every_s
        self._cursor = 0
        self._local: set[int] = set()
        self._pending: list[StoredMessage] = []
        self._task: asyncio.Task[None] | None = None

    def stored_here(self, message_id: int) -> None:
        """This process stored (and publishes) the message: the feed must not."""
        if message_id > self._cursor:
            self._local.add(message_id)

    async def _newest(self) -> int:
        async with self.engine.connect() as conn:
            return int(await conn.scalar(sa.select(sa.func.max(messages.c.id))) or 0)

    async def start(self) -> None:
        self._cursor = await self._newest()
        self._task = asyncio.create_task(self._run(), name="gong-change-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.tick()
            except Exception as exc:
                log.warning("change feed failed: %s", exc)

    async def tick(self) -> int:
        """Publish last tick's foreign messages, then read the new ones; returns how many were
        published."""
        published = 0
        for message in self._pending:
            if message.id in self._local:
                self._local.discard(message.id)
                continue
            event = orjson.dumps(stored_event(message))
            try:
                await self.broker.publish(
                    message_channel(message.group_id, message.visible_to_user_id), event
                )
                published += 1
            except Exception as exc:
                log.warning("live fan-out of message %d failed: %s", message.id, exc)
        self._pending = []
        if await self._newest() > self._cursor:
            async with self.engine.connect() as conn:
                rows = (
                    await conn.execute(
                        sa.select(messages)
                        .where(messages.c.id > self._cursor)
                        .order_by(messages.c.id.asc())
                        .limit(BATCH)
                    )
                ).all()
            self._pending = [_message(r) for r in rows]
            if self._pending:
                self._cursor = self._pending[-1].id
        return published
