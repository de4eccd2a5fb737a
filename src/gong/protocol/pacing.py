"""DingTalk's rate-limit arithmetic, from the sender's side: at most ``limit`` sends in any
``window_ms``, counted over a log of recent send times.

Pure and I/O-free: the SDK's client-side pacer and the relay's in-memory pacer both keep one
:class:`SendLog` per webhook. The semantics match Gong's own limiter: a send at ``t`` counts in
the window until ``t + window_ms`` (exclusive).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["PaceState", "SendLog"]


@dataclass(frozen=True, slots=True)
class PaceState:
    """Where a webhook stands against its limit at ``now``.

    Attributes:
        free: sends allowed right now (0 while paused).
        next_free_at: earliest time (ms) a send is allowed; ``now`` when ``free > 0``.
        refill_at: when the oldest send in the window leaves it (one more slot frees), or None
            when the window is empty.
        last_at: time of the most recent send, or None.
        paused_until: a pause imposed by the upstream (a throttle answer), or 0.
    """

    free: int
    next_free_at: int
    refill_at: int | None
    last_at: int | None
    paused_until: int = 0


class SendLog:
    """The times of recent sends to one webhook, and a pause."""

    __slots__ = ("_times", "paused_until")

    def __init__(self, times: Iterable[int] = (), paused_until: int = 0) -> None:
        self._times: deque[int] = deque(sorted(times))
        self.paused_until = paused_until

    def _trim(self, window_ms: int, now: int) -> None:
        horizon = now - window_ms
        times = self._times
        while times and times[0] <= horizon:
            times.popleft()

    def state(self, limit: int, window_ms: int, now: int) -> PaceState:
        """The state against ``limit`` sends per ``window_ms``; ``limit == 0`` is unlimited."""
        last = self._times[-1] if self._times else None
        if limit <= 0 or window_ms <= 0:
            paused = self.paused_until > now
            return PaceState(
                free=0 if paused else 1_000_000,
                next_free_at=self.paused_until if paused else now,
                refill_at=None,
                last_at=last,
                paused_until=self.paused_until if paused else 0,
            )
        self._trim(window_ms, now)
        times = self._times
        used = len(times)
        free = max(0, limit - used)
        refill = times[0] + window_ms if times else None
        next_free = now if free else times[used - limit] + window_ms
        if self.paused_until > now:
            return PaceState(0, max(next_free, self.paused_until), refill, last, self.paused_until)
        return PaceState(free, next_free, refill, last)

    def take(self, limit: int, window_ms: int, now: int) -> bool:
        """Count one send at ``now`` if the limit (and any pause) allows it."""
        if self.state(limit, window_ms, now).free <= 0:
            return False
        if limit <= 0 or window_ms <= 0:
            self._times.clear()  # unlimited: only the last send matters
        self._times.append(now)
        return True

    def record(self, at: int) -> None:
        """Count a send that happened at ``at`` without checking the limit (restoring a log)."""
        if self._times and at < self._times[-1]:
            self._times = deque(sorted([*self._times, at]))
        else:
            self._times.append(at)

    def pause(self, until: int) -> None:
        """Allow nothing before ``until`` (ms)."""
        self.paused_until = max(self.paused_until, until)

    def times(self) -> list[int]:
        """The logged send times, oldest first."""
        return list(self._times)

    def __len__(self) -> int:
        return len(self._times)
