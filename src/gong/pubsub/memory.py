"""In-process fan-out: every subscriber of a channel gets every event published to it.

A subscriber that falls more than ``max_queue`` events behind is dropped (its stream ends), so
one slow reader never holds memory or slows the publisher; the web app's SSE client then
reconnects and resumes from its ``Last-Event-ID``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

__all__ = ["MemoryBroker", "MemorySubscription"]

_CLOSED = b""


class MemorySubscription:
    def __init__(self, broker: MemoryBroker, channels: tuple[str, ...], max_queue: int) -> None:
        self._broker = broker
        self.channels = channels
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(max_queue)
        self.closed = False

    def deliver(self, event: bytes) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self._broker._drop(self)
            self.closed = True
            self.queue = asyncio.Queue(1)
            self.queue.put_nowait(_CLOSED)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            event = await self.queue.get()
            if event == _CLOSED:
                return
            yield event

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._broker._drop(self)
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(_CLOSED)


class MemoryBroker:
    def __init__(self, max_queue: int = 1000) -> None:
        self._subscribers: dict[str, set[MemorySubscription]] = {}
        self._max_queue = max_queue

    async def publish(self, channel: str, event: bytes) -> None:
        self.publish_now(channel, event)

    def publish_now(self, channel: str, event: bytes) -> None:
        for subscription in tuple(self._subscribers.get(channel, ())):
            subscription.deliver(event)

    async def subscribe(self, *channels: str) -> MemorySubscription:
        subscription = MemorySubscription(self, channels, self._max_queue)
        for channel in channels:
            self._subscribers.setdefault(channel, set()).add(subscription)
        return subscription

    def subscriber_count(self, channel: str | None = None) -> int:
        if channel is not None:
            return len(self._subscribers.get(channel, ()))
        return len({s for subs in self._subscribers.values() for s in subs})

    def _drop(self, subscription: MemorySubscription) -> None:
        for channel in subscription.channels:
            subs = self._subscribers.get(channel)
            if subs is not None:
                subs.discard(subscription)
                if not subs:
                    del self._subscribers[channel]

    async def close(self) -> None:
        for subs in list(self._subscribers.values()):
            for subscription in list(subs):
                await subscription.close()
