"""The in-process :class:`~gong.domain.ports.Pacer`: one send log per upstream key.

Right for one process; state lost on restart is restored from the database's record of attempts
(``relay_attempts``), written before every send. Several processes sending to one upstream need a
shared implementation (Redis) for the pace to hold across them.
"""

from __future__ import annotations

from collections.abc import Sequence

from gong.protocol.pacing import PaceState, SendLog

__all__ = ["MemoryPacer"]


class MemoryPacer:
    def __init__(self) -> None:
        self._logs: dict[str, SendLog] = {}

    def _log(self, key: str) -> SendLog:
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = SendLog()
        return log

    async def state(self, key: str, limit: int, window_ms: int, now_ms: int) -> PaceState:
        return self._log(key).state(limit, window_ms, now_ms)

    async def take(self, key: str, limit: int, window_ms: int, now_ms: int) -> bool:
        return self._log(key).take(limit, window_ms, now_ms)

    async def pause(self, key: str, until_ms: int) -> None:
        self._log(key).pause(until_ms)

    async def restore(self, key: str, sent_at: Sequence[int], paused_until: int) -> None:
        old = self._log(key)
        merged = SendLog(sorted({*old.times(), *sent_at}), max(old.paused_until, paused_until))
        self._logs[key] = merged
