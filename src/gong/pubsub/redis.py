"""Fan-out across Gong processes through Redis pub/sub.

Each process keeps one Redis subscription (a pattern over Gong's channels) and delivers what
arrives to its local subscribers through a :class:`MemoryBroker`; publishing goes to Redis only,
so every process — the publisher included — delivers each event exactly once, in Redis's order.

If the subscription breaks (Redis restarts, the network drops), every local subscription is
ended: the web app's event streams close, their clients reconnect and resume from their
``Last-Event-ID`` out of the database, so no event is silently missed. The bridge reconnects
with backoff meanwhile. Publishing while Redis is away raises; the message is already stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gong.pubsub.memory import MemoryBroker, MemorySubscription

__all__ = ["RedisBroker"]

log = logging.getLogger(__name__)


class RedisBroker:
    def __init__(self, redis: Redis, prefix: str, max_queue: int = 1000) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:ch:"
        self._local = MemoryBroker(max_queue)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.connected = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._bridge(), name="gong-redis-pubsub")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), 5)

    async def publish(self, channel: str, event: bytes) -> None:
        await self._redis.publish(self._prefix + channel, event)

    async def subscribe(self, *channels: str) -> MemorySubscription:
        return await self._local.subscribe(*channels)

    def subscriber_count(self, channel: str | None = None) -> int:
        return self._local.subscriber_count(channel)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._local.close()

    async def _bridge(self) -> None:
        delay = 0.1
        first = True
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(self._prefix + "*")
                if not first:
                    # Streams opened while Redis was away may have missed events: end them
                    # so their clients resume from the database.
                    await self._local.close()
                first = False
                self.connected = True
                self._ready.set()
                delay = 0.1
                async for message in pubsub.listen():
                    if message.get("type") != "pmessage":
                        continue
                    channel = message["channel"]
                    if isinstance(channel, bytes):
                        channel = channel.decode()
                    data = message["data"]
                    self._local.publish_now(
                        channel[len(self._prefix) :],
                        data if isinstance(data, bytes) else str(data).encode(),
                    )
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self.connected:
                    log.error("Redis pub/sub lost (%s); ending live streams until it is back", exc)
                self.connected = False
                await self._local.close()
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
