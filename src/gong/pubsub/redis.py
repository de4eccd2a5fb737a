"""Fan-out across Gong processes through Redis pub/sub.

Each process keeps one Redis subscription (a pattern over Gong's channels) and delivers what
arrives to its local subscribers through a :class:`MemoryBroker`; publishing goes to Redis only,
so every process — the publisher included — delivers each event exactly once, in Redis's order.
Publishing does not wait for Redis: events are queued and sent by one task in pipelined
batches, in order, so the robot API's answer never waits on a Redis round trip (the message is
already stored when it is published).

If the subscription breaks (Redis restarts, the network drops), every local subscription is
ended: the web app's event streams close, their clients reconnect and resume from their
``Last-Event-ID`` out of the database, so no event is silently missed. The bridge reconnects
with backoff meanwhile, and queued events are sent once Redis answers again (past 100 000
queued, new ones are dropped: the readers resume from the database).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gong.pubsub.memory import MemoryBroker, MemorySubscription

__all__ = ["RedisBroker"]

log = logging.getLogger(__name__)


class RedisBroker:
    def __init__(
        self, redis: Redis, prefix: str, max_queue: int = 1000, max_outgoing: int = 100_000
    ) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:ch:"
        self._local = MemoryBroker(max_queue)
        self._task: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._outgoing: deque[tuple[str, bytes]] = deque()
        self._max_outgoing = max_outgoing
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self.connected = False
        self.dropped = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._bridge(), name="gong-redis-pubsub")
        self._sender = asyncio.create_task(self._send(), name="gong-redis-publish")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), 5)

    async def publish(self, channel: str, event: bytes) -> None:
        """Queue an event for every process's subscribers; returns without waiting for Redis."""
        if len(self._outgoing) >= self._max_outgoing:
            self.dropped += 1  # Redis is away: live readers resume from the database later
            return
        self._outgoing.append((self._prefix + channel, event))
        self._drained.clear()
        self._wake.set()

    async def flush(self) -> None:
        """Wait (at most 2 s) until every queued event has been handed to Redis."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained.wait(), 2.0)

    async def _send(self) -> None:
        delay = 0.05
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outgoing:
                batch = [self._outgoing[i] for i in range(min(len(self._outgoing), 500))]
                try:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for channel, event in batch:
                            pipe.publish(channel, event)
                        await pipe.execute()
                except (RedisError, OSError) as exc:
                    log.warning("publishing to Redis failed (%s); retrying", exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
                    continue
                delay = 0.05
                for _ in batch:
                    self._outgoing.popleft()
            self._drained.set()

    async def subscribe(self, *channels: str) -> MemorySubscription:
        return await self._local.subscribe(*channels)

    def subscriber_count(self, channel: str | None = None) -> int:
        return self._local.subscriber_count(channel)

    async def close(self) -> None:
        await self.flush()
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
            self._sender = None
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
                delivered = 0
                async for message in pubsub.listen():
                    if message.get("type") != "pmessage":
                        continue
                    delivered += 1
                    if delivered % 16 == 0:
                        await asyncio.sleep(0)  # let readers drain their queues during a burst
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
                    await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
