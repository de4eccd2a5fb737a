"""Time as a seam: everything that depends on time (signature window, rate windows, blocks,
expiries, the pollers' waits) takes a :class:`Clock`, so tests move time instead of sleeping."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """The real wall clock."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _wake_soon(future: asyncio.Future[None]) -> None:
    """Resolve ``future`` now if its loop is this thread's running loop, else from its loop."""
    loop = future.get_loop()
    try:
        here = asyncio.get_running_loop() is loop
    except RuntimeError:
        here = False
    if here:
        _wake(future)
    elif not loop.is_closed():
        loop.call_soon_threadsafe(_wake, future)


class ManualClock:
    """A clock that only moves when told to.

    :meth:`sleep` returns once :meth:`advance` or :meth:`set` has moved the clock to (or past)
    its deadline; :meth:`sleeping` lets a test wait until a loop has done its work and waits
    again.
    """

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._now = start_ms
        self._lock = threading.Lock()
        #: Pending sleeps: (deadline in ms, the future resolved when the clock reaches it).
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []
        #: Waits of :meth:`sleeping`: (how many sleepers, the future resolved when they are).
        self._watchers: list[tuple[int, asyncio.Future[None]]] = []

    def now_ms(self) -> int:
        return self._now

    def advance(self, ms: int) -> None:
        """Move the clock forward; wakes every sleep whose deadline is reached."""
        with self._lock:
            self._now += ms
        self._wake_due()

    def set(self, now_ms: int) -> None:
        """Set the clock (backwards too); wakes every sleep whose deadline is reached."""
        with self._lock:
            self._now = now_ms
        self._wake_due()

    async def sleep(self, seconds: float) -> None:
        """Return once the clock is ``seconds`` past the time of the call."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self._now + seconds * 1000, future)
        with self._lock:
            self._sleepers.append(entry)
            count = len(self._sleepers)
            ready = [w for w in self._watchers if w[0] <= count]
            self._watchers = [w for w in self._watchers if w[0] > count]
        for _, watcher in ready:
            _wake_soon(watcher)
        try:
            await future
        finally:
            with self._lock:
                if entry in self._sleepers:
                    self._sleepers.remove(entry)

    @property
    def sleepers(self) -> int:
        """How many sleeps are waiting for the clock to move."""
        return len(self._sleepers)

    async def sleeping(self, count: int = 1) -> None:
        """Return once at least ``count`` tasks wait in :meth:`sleep` (tests: after
        :meth:`advance`, until a woken loop has done its work and sleeps again)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._lock:
            if len(self._sleepers) >= count:
                return
            entry = (count, future)
            self._watchers.append(entry)
        try:
            await future
        finally:
            with self._lock:
                if entry in self._watchers:
                    self._watchers.remove(entry)

    def _wake_due(self) -> None:
        with self._lock:
            due = [f for deadline, f in self._sleepers if deadline <= self._now]
            self._sleepers = [s for s in self._sleepers if s[0] > self._now]
        for future in due:
            _wake_soon(future)
