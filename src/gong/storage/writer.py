"""Group commit: one writer per process commits everything submitted since its last commit
in one transaction, then answers every submitter.

A request submits its write and awaits the future; the writer wakes on the next event-loop turn
(not on a timer) and keeps yielding turns while more writes join (a few at most), then takes all
pending writes, runs each record type's batch handler in one transaction, and commits. While it
commits, new writes queue up for the next batch, so batches grow with load and latency stays at
about one commit.

A failing batch never fails its neighbours. The happy path is one transaction; only on failure:

- a batch whose connection was lost is tried once more, whole, on a fresh connection;
- if the database is unreachable (or locked past the deadline) every write of the batch fails
  with that error, since smaller batches would fail the same way — no storm of retries;
- otherwise the batch is split in halves and each half committed on its own, recursively, until
  every good write is committed and each bad write fails alone (with ``k`` bad writes in ``n``,
  about ``2·k·log2(n)`` transactions instead of ``n``).

A write is acknowledged (its future resolved) only once a transaction holding it has committed.
The error of a write that fails alone is the handler's own exception; :func:`refused_by_database`
tells callers whether the database refused the write for what it holds (resending it cannot
succeed) rather than for its own state.

Batch handlers are plain synchronous functions of a SQLAlchemy ``Connection``. On SQLite the
whole transaction (``BEGIN IMMEDIATE`` … ``COMMIT``) runs inline on the event loop's thread: a
batch takes about one fsync, less than handing it to a thread would cost (each hand-off waits
for a turn of a busy event loop, and the thread then waits for the GIL). On PostgreSQL the
handlers run through the async driver (``run_sync``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["BatchHandler", "Writer", "WriterClosed", "refused_by_database"]

log = logging.getLogger(__name__)

#: Writes a batch of records of one type in an open transaction; returns one result per record.
BatchHandler = Callable[[Connection, Sequence[Any]], Sequence[Any]]
Transaction = Callable[[Connection], list[Any]]

MAX_BATCH = 512
#: Most event-loop turns a batch waits for more writes to join it.
MAX_GATHER_TURNS = 8


class WriterClosed(RuntimeError):
    """The writer has stopped and accepts nothing more."""


class _Runner(Protocol):
    async def run(self, transaction: Transaction) -> list[Any]: ...

    async def close(self) -> None: ...


class _InlineRunner:
    """Runs each transaction synchronously on the event loop's thread (SQLite).

    A batch costs about one fsync plus a few microseconds per row; running it inline avoids
    handing work to another thread, which under load waits for the GIL behind the request
    handlers. The loop never waits on another process's lock: the connection's busy timeout
    is zero, and a busy database is retried after a short asynchronous sleep.
    """

    def __init__(self, engine: Engine, busy_deadline_s: float = 30.0) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._deadline = busy_deadline_s

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.invalidated:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.close()
            self._conn = self._engine.connect()
            self._conn.info["writer"] = True
        return self._conn

    def _call(self, transaction: Transaction) -> list[Any]:
        conn = self._connection()
        try:
            with conn.begin():
                return transaction(conn)
        except OperationalError as exc:
            if not _is_busy(exc):
                with contextlib.suppress(Exception):
                    conn.invalidate()
            raise
        except Exception:
            with contextlib.suppress(Exception):
                conn.invalidate()
            raise

    async def run(self, transaction: Transaction) -> list[Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._deadline
        delay = 0.0005
        while True:
            try:
                return self._call(transaction)
            except OperationalError as exc:
                if not _is_busy(exc) or loop.time() > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._engine.dispose()


def _is_busy(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text


#: SQLSTATE classes of a statement refused for the values it carries: 22 data exception (value
#: too long, a character the encoding cannot hold, …), 23 integrity constraint violation.
_REFUSAL_CLASSES = ("22", "23")


def refused_by_database(exc: BaseException) -> bool:
    """Whether the database refused a write for what it holds, so that resending it cannot
    succeed: a data exception or a constraint violation, on either backend."""
    if isinstance(exc, (DataError, IntegrityError)):
        return True
    if isinstance(exc, DBAPIError):
        # asyncpg's errors reach SQLAlchemy as a plain DBAPIError carrying the SQLSTATE.
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return isinstance(state, str) and state.startswith(_REFUSAL_CLASSES)
    return False


def _lost_connection(exc: BaseException) -> bool:
    """The connection broke (database restarted, network dropped): a fresh one may succeed."""
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _unreachable(exc: BaseException) -> bool:
    """The database cannot be used now, whatever is written: any smaller batch fails alike."""
    if isinstance(exc, OperationalError) and _is_busy(exc):
        return True  # locked by another process past the busy deadline
    return isinstance(exc, OSError) or _lost_connection(exc)


class _AsyncRunner:
    """Runs each transaction on one connection of the async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None

    async def run(self, transaction: Transaction) -> list[Any]:
        if self._conn is None or self._conn.invalidated:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    await self._conn.close()
            self._conn = await self._engine.connect()
        conn = self._conn
        try:
            async with conn.begin():
                return await conn.run_sync(transaction)
        except Exception:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            raise

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


class _Pending:
    __slots__ = ("future", "item")

    def __init__(self, item: Any, future: asyncio.Future[Any] | None) -> None:
        self.item = item
        self.future = future


class Writer:
    """The single writer of a process. ``submit`` returns after the write is committed.

    Pass ``sync_engine`` (SQLite) to run transactions inline with a synchronous connection;
    otherwise they run on ``engine``.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        handlers: dict[type, BatchHandler],
        *,
        sync_engine: Engine | None = None,
        observe: Callable[[int, float], None] | None = None,
    ) -> None:
        self._runner: _Runner = (
            _InlineRunner(sync_engine) if sync_engine is not None else _AsyncRunner(engine)
        )
        self._handlers = handlers
        #: Called with the size and the duration (s) of every committed batch (metrics).
        self._observe = observe
        self._pending: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
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
        await self._runner.close()
        log.info("writer stopped: %d writes committed in %d batches", self.writes, self.batches)

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
            # Let every request that is ready now join this batch: yield a loop turn, and more
            # while writes keep arriving (under load), but commit as soon as a turn adds none
            # (a quiet server commits at once). Never a timer: it would add latency when idle.
            joined = len(self._pending)
            for _ in range(MAX_GATHER_TURNS):
                await asyncio.sleep(0)
                if len(self._pending) == joined:
                    break
                joined = len(self._pending)
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                await self._commit(batch)
            if self._closing and not self._pending:
                return

    async def _commit(self, batch: list[_Pending], *, half: bool = False) -> None:
        """Commit a batch; on failure, find its bad writes (see the module's docstring)."""
        failure = await self._attempt(batch)
        if failure is not None and _lost_connection(failure):
            log.warning("batch of %d writes lost its connection; trying again", len(batch))
            failure = await self._attempt(batch)
        if failure is None:
            return
        if len(batch) == 1 or _unreachable(failure):
            for pending in batch:
                self._fail(pending, failure)
            return
        if not half:
            log.warning(
                "batch of %d writes failed (%s); committing it in halves", len(batch), failure
            )
        middle = len(batch) // 2
        await self._commit(batch[:middle], half=True)
        await self._commit(batch[middle:], half=True)

    async def _attempt(self, batch: list[_Pending]) -> Exception | None:
        """Run one transaction for ``batch``; on commit answer every write, else return why not."""
        started = time.perf_counter()
        try:
            results = await self._runner.run(self._transaction([p.item for p in batch]))
        except Exception as exc:
            return exc
        self.batches += 1
        self.writes += len(batch)
        if self._observe is not None:
            self._observe(len(batch), time.perf_counter() - started)
        for pending, result in zip(batch, results, strict=True):
            if pending.future is not None and not pending.future.done():
                pending.future.set_result(result)
        return None

    def _transaction(self, items: list[Any]) -> Transaction:
        by_type: dict[type, list[int]] = {}
        for index, item in enumerate(items):
            by_type.setdefault(type(item), []).append(index)

        def transaction(conn: Connection) -> list[Any]:
            results: list[Any] = [None] * len(items)
            for item_type, indexes in by_type.items():
                out = self._handlers[item_type](conn, [items[i] for i in indexes])
                for i, result in zip(indexes, out, strict=True):
                    results[i] = result
            return results

        return transaction

    def _fail(self, pending: _Pending, exc: Exception) -> None:
        if pending.future is None:
            log.error("dropped a best-effort write %r: %s", type(pending.item).__name__, exc)
            return
        if not pending.future.done():
            pending.future.set_exception(exc)
