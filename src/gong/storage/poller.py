"""A background loop that runs an async ``tick`` every few seconds of the injected clock.

The directory (robot views changed elsewhere) and the change feed (messages stored elsewhere)
both poll the database this way. The wait goes through :meth:`gong.clock.Clock.sleep`, so a
test drives the loop with a :class:`~gong.clock.ManualClock` instead of sleeping. A tick that
raises is logged and the loop goes on (the database may be briefly away); :meth:`Poller.stop`
cancels the loop, whether it is waiting or in a tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from gong.clock import Clock

__all__ = ["Poller"]

log = logging.getLogger(__name__)


class Poller:
    def __init__(
        self,
        tick: Callable[[], Awaitable[object]],
        every_s: float,
        clock: Clock,
        *,
        name: str,
        failure: str = "poll failed",
        logger: logging.Logger = log,
    ) -> None:
        """``tick`` runs every ``every_s`` seconds (the first one ``every_s`` after
        :meth:`start`); a failure is logged to ``logger`` as ``"<failure>: <error>"``."""
        self.every_s = every_s
        self.name = name
        self._tick = tick
        self._clock = clock
        self._failure = failure
        self._log = logger
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        """Start the loop (once: starting a running poller does nothing)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Cancel the loop and wait for it to end; a tick in progress is cancelled too."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the caller itself is being cancelled: let that through

    async def _run(self) -> None:
        while True:
            await self._clock.sleep(self.every_s)
            try:
                await self._tick()
            except Exception as exc:
                self._log.warning("%s: %s", self._failure, exc)
