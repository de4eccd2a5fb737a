"""Group commit: one writer task per process commits everything submitted since its last commit
in one transaction, then answers every submitter.

A request submits its write and awaits the future; the writer wakes on the next event-loop turn
(not on a timer), takes all pending writes, runs each kind's batch handler in one transaction, and
commits. While it commits, new writes queue up for the next batch, so batches grow with load and
latency stays at one commit. If a batch fails, its writes are retried one by one, so one bad
write never fails the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["BatchHandler", "Writer", "WriterClosed"]

log = logging.getLogger(__name__)

#: Handles a batch of writes of one type in an open transaction; returns one result per write.
BatchHandler = Callable[[AsyncConnection, Sequence[Any]], Awaitable[Sequence[Any]]]

MAX_BATCH = 512


class WriterClosed(RuntimeError):
    """The writer has stopped and accepts nothing more."""


class _Pending:
    __slots__ = ("future", "item")

    def __init__(self, item: Any, future: asyncio.Future[Any] | None) -> None:
        self.item = item
        self.future = future


class Writer:
    """The single writer of a process. ``submit`` returns after the write is committed."""

    def __init__(self, engine: AsyncEngine, handlers: dict[type, BatchHandler]) -> None:
        self._engine = engine
        self._handlers = handlers
        self._pending: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: AsyncConnection | None = None
        self._closing = False
        self.batches = 0
        self.writes = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gong-writer")

    async def stop(self) -> None:
        """Commit everything already submitted, then stop."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    def submit(self, item: Any) -> asyncio.Future[Any]:
        """Queue a write; the returned future resolves once it is committed."""
        if self._closing:
            raise WriterClosed("the writer is shutting down")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(item, future))
        self._wakeup.set()
        return future

    def submit_nowait(self, item: Any) -> None:
        """Queue a best-effort write nobody waits for (refusal records, counters)."""
        if self._closing:
            return
        self._pending.append(_Pending(item, None))
        self._wakeup.set()

    @property
    def backlog(self) -> int:
        return len(self._pending)

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            # One loop turn lets every request that is ready right now join this batch.
            await asyncio.sleep(0)
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                await self._commit(batch)
            if self._closing and not self._pending:
                return

    async def _connection(self) -> AsyncConnection:
        if self._conn is None or self._conn.invalidated:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    await self._conn.close()
            self._conn = await self._engine.connect()
            self._conn.info["writer"] = True
        return self._conn

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            results = await self._execute(batch)
        except Exception as exc:
            if len(batch) == 1:
                self._fail(batch[0], exc)
                return
            log.warning("batch of %d writes failed (%s); retrying one by one", len(batch), exc)
            for pending in batch:
                await self._commit([pending])
            return
        self.batches += 1
        self.writes += len(batch)
        for pending, result in zip(batch, results, strict=True):
            if pending.future is not None and not pending.future.done():
                pending.future.set_result(result)

    async def _execute(self, batch: list[_Pending]) -> list[Any]:
        by_type: dict[type, list[int]] = {}
        for index, pending in enumerate(batch):
            by_type.setdefault(type(pending.item), []).append(index)
        results: list[Any] = [None] * len(batch)
        conn = await self._connection()
        try:
            async with conn.begin():
                for item_type, indexes in by_type.items():
                    handler = self._handlers[item_type]
                    out = await handler(conn, [batch[i].item for i in indexes])
                    for i, result in zip(indexes, out, strict=True):
                        results[i] = result
        except Exception:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            raise
        return results

    def _fail(self, pending: _Pending, exc: Exception) -> None:
        if pending.future is None:
            log.error("dropped a best-effort write %r: %s", type(pending.item).__name__, exc)
        elif not pending.future.done():
            pending.future.set_exception(exc)
