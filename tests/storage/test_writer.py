"""The group-commit writer: batching under concurrency, isolation of a failing write."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

from gong.config import Settings
from gong.domain.models import NewMessage, SenderType
from gong.domain.ports import StoreResult
from gong.protocol.errors import Dialect, Errors, RobotError
from gong.storage.database import create_writer_engine, open_database
from gong.storage.messages import write_handlers
from gong.storage.outbox import Outbox
from gong.storage.schema import messages
from gong.storage.store import WriterStore
from gong.storage.writer import Writer, WriterClosed, refused_by_database


@dataclass
class Boom:
    """A write that always fails, to show it does not take its batch down with it."""


def explode(conn: Connection, items: Sequence[Boom]) -> list[None]:
    conn.execute(sa.text("SELECT 1"))
    raise RuntimeError("boom")


async def _group(engine: object) -> int:
    async with engine.begin() as conn:  # type: ignore[attr-defined]
        result = await conn.execute(
            sa.text(
                "INSERT INTO groups (name, dissolved, created_at) VALUES ('g', false, 0) RETURNING id"
            )
        )
        return int(result.scalar_one())


def _message(group_id: int, n: int) -> NewMessage:
    return NewMessage(
        group_id=group_id,
        sender_type=SenderType.SYSTEM,
        sender_name="s",
        msgtype="text",
        payload="{}",
        content={"n": n},
        created_at=n,
    )


async def test_concurrent_writes_share_commits(db_settings: Settings) -> None:
    engine = await open_database(db_settings)
    writer = Writer(engine, write_handlers(), sync_engine=create_writer_engine(db_settings))
    await writer.start()
    try:
        group_id = await _group(engine)
        results = await asyncio.gather(*(writer.submit(_message(group_id, n)) for n in range(300)))
        ids = [r.message_id for r in results]
        assert sorted(ids) == list(range(1, 301))
        assert len(set(ids)) == 300
        assert writer.writes == 300
        assert writer.batches < 30, "300 concurrent writes should commit in a few batches"
        async with engine.connect() as conn:
            count = await conn.scalar(sa.select(sa.func.count()).select_from(messages))
        assert count == 300
    finally:
        await writer.stop()
        await engine.dispose()


async def test_a_failing_write_fails_alone(sqlite_settings: Settings) -> None:
    engine = await open_database(sqlite_settings)
    writer = Writer(
        engine,
        {**write_handlers(), Boom: explode},
        sync_engine=create_writer_engine(sqlite_settings),
    )
    await writer.start()
    try:
        group_id = await _group(engine)
        futures = [writer.submit(_message(group_id, n)) for n in range(5)]
        bad = writer.submit(Boom())
        futures += [writer.submit(_message(group_id, n)) for n in range(5, 10)]
        results = await asyncio.gather(*futures)
        assert all(r.message_id for r in results)
        with pytest.raises(RuntimeError, match="boom"):
            await bad
    finally:
        await writer.stop()
        await engine.dispose()


async def test_stop_commits_what_was_submitted_and_refuses_more(sqlite_settings: Settings) -> None:
    engine = await open_database(sqlite_settings)
    writer = Writer(engine, write_handlers(), sync_engine=create_writer_engine(sqlite_settings))
    await writer.start()
    group_id = await _group(engine)
    pending = [writer.submit(_message(group_id, n)) for n in range(50)]
    await writer.stop()
    assert all(f.done() and f.result().message_id for f in pending)
    with pytest.raises(WriterClosed):
        writer.submit(_message(group_id, 99))
    await engine.dispose()


def test_the_fast_sqlite_insert_lists_every_column_in_order() -> None:
    from gong.storage.messages import _MESSAGE_COLUMNS, message_row

    assert tuple(c.name for c in messages.c if c.name != "id") == _MESSAGE_COLUMNS
    assert tuple(message_row(_message(1, 1))) == _MESSAGE_COLUMNS


async def test_a_locked_database_delays_the_writer_without_blocking_the_loop(
    sqlite_settings: Settings,
) -> None:
    """Another process holding SQLite's write lock: writes wait (asynchronously) and then land."""
    import sqlite3

    engine = await open_database(sqlite_settings)
    writer = Writer(engine, write_handlers(), sync_engine=create_writer_engine(sqlite_settings))
    await writer.start()
    group_id = await _group(engine)
    other = sqlite3.connect(sqlite_settings.data_dir / "gong.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        pending = writer.submit(_message(group_id, 1))
        ticks = 0
        for _ in range(20):  # the loop keeps running while the writer waits for the lock
            await asyncio.sleep(0.01)
            ticks += 1
        assert not pending.done()
        other.execute("COMMIT")
        result = await asyncio.wait_for(pending, 5)
        assert result.message_id == 1
        assert ticks == 20
    finally:
        other.close()
        await writer.stop()
        await engine.dispose()


# -- one bad write among good ones ---------------------------------------------------------------


def _bad_rows(group_id: int, backend: str) -> dict[str, NewMessage]:
    """Writes the database itself refuses (the protocol checks bypassed), by backend."""
    bad = {
        # A constraint violation on both backends: the group does not exist.
        "missing group": _message(group_id + 1000, 900),
        # NOT NULL on both backends.
        "null payload": replace(_message(group_id, 901), payload=None),  # type: ignore[arg-type]
    }
    if backend == "postgres":  # SQLite holds these; PostgreSQL refuses them (22021, 22001)
        bad["NUL msgUuid"] = replace(
            _message(group_id, 902), robot_id=1, msg_uuid="a\x00b", dedup_until=10**12
        )
        bad["long msgUuid"] = replace(
            _message(group_id, 903), robot_id=1, msg_uuid="u" * 201, dedup_until=10**12
        )
    return bad


def _backend(settings: Settings) -> str:
    return "postgres" if settings.database_url else "sqlite"


async def test_bad_rows_fail_alone_and_the_good_ones_commit(db_settings: Settings) -> None:
    engine = await open_database(db_settings)
    writer = Writer(engine, write_handlers(), sync_engine=create_writer_engine(db_settings))
    await writer.start()
    try:
        group_id = await _group(engine)
        bad = _bad_rows(group_id, _backend(db_settings))
        # One batch: nothing runs until the test awaits, so every write joins the first commit.
        good = [writer.submit(_message(group_id, n)) for n in range(40)]
        refused = {name: writer.submit(m) for name, m in bad.items()}
        good += [writer.submit(_message(group_id, n)) for n in range(40, 80)]
        results = await asyncio.gather(*good)

        assert all(r.message_id for r in results), "every good write is acknowledged"
        for name, future in refused.items():
            with pytest.raises(Exception) as info:  # noqa: PT011 - the driver's own error
                await future
            assert refused_by_database(info.value), f"{name}: {info.value!r}"
        async with engine.connect() as conn:
            stored = (await conn.execute(sa.select(messages.c.content))).scalars().all()
        assert sorted(json.loads(c)["n"] for c in stored) == list(range(80))
        assert writer.writes == 80
        # Bisection: a few commits find the bad writes, not one commit per write.
        assert writer.batches <= 4 * len(bad) * 7
        assert writer.batches < 80
    finally:
        await writer.stop()
        await engine.dispose()


async def test_the_store_answers_a_refused_message_with_400402_not_minus_1(
    db_settings: Settings,
) -> None:
    engine = await open_database(db_settings)
    writer = Writer(engine, write_handlers(), sync_engine=create_writer_engine(db_settings))
    await writer.start()
    store = WriterStore(writer, Outbox(engine, writer))
    try:
        group_id = await _group(engine)
        bad = _bad_rows(group_id, _backend(db_settings))
        for name, message in bad.items():
            refused, *neighbours = await asyncio.gather(
                store.store(message),
                *(store.store(_message(group_id, n)) for n in range(3)),
                return_exceptions=True,
            )
            assert isinstance(refused, RobotError), f"{name}: {refused!r}"
            assert refused.error is Errors.MESSAGE_UNSTORABLE
            assert refused.errcode(Dialect.MODERN) == refused.errcode(Dialect.LEGACY) == 400402
            assert all(isinstance(r, StoreResult) and r.message_id for r in neighbours)
        async with engine.connect() as conn:
            count = await conn.scalar(sa.select(sa.func.count()).select_from(messages))
        assert count == 3 * len(bad)
    finally:
        await writer.stop()
        await engine.dispose()


def test_what_counts_as_refused_by_the_database() -> None:
    class PgError(Exception):
        def __init__(self, sqlstate: str) -> None:
            self.sqlstate = sqlstate

    def dbapi(orig: Exception, **kw: bool) -> DBAPIError:
        return DBAPIError("INSERT …", None, orig, **kw)

    assert refused_by_database(IntegrityError("INSERT …", None, Exception("fk")))
    assert refused_by_database(DataError("INSERT …", None, Exception("too big")))
    assert refused_by_database(dbapi(PgError("22021")))  # NUL in text
    assert refused_by_database(dbapi(PgError("22001")))  # value too long
    assert refused_by_database(dbapi(PgError("23505")))  # unique violation
    assert not refused_by_database(dbapi(PgError("40001")))  # serialization failure: retry
    assert not refused_by_database(dbapi(PgError("08006")))  # connection failure
    assert not refused_by_database(dbapi(Exception("gone"), connection_invalidated=True))
    assert not refused_by_database(OperationalError("BEGIN", None, Exception("disk I/O error")))
    assert not refused_by_database(RuntimeError("boom"))


# -- failures that are not the rows' fault -------------------------------------------------------


@dataclass
class Flaky:
    """A write whose handler fails the way a broken database does."""


async def test_a_lost_connection_is_retried_once_whole(sqlite_settings: Settings) -> None:
    calls: list[int] = []

    def lose_once(conn: Connection, items: Sequence[Flaky]) -> list[None]:
        calls.append(len(items))
        if len(calls) == 1:
            raise DBAPIError("SELECT 1", None, Exception("gone"), connection_invalidated=True)
        return [None] * len(items)

    engine = await open_database(sqlite_settings)
    writer = Writer(
        engine,
        {**write_handlers(), Flaky: lose_once},
        sync_engine=create_writer_engine(sqlite_settings),
    )
    await writer.start()
    try:
        group_id = await _group(engine)
        futures = [writer.submit(_message(group_id, n)) for n in range(10)]
        futures.append(writer.submit(Flaky()))
        results = await asyncio.gather(*futures)
        assert all(r.message_id for r in results[:10])
        assert calls == [1, 1]
        assert writer.batches == 1, "the whole batch committed on the second try"
    finally:
        await writer.stop()
        await engine.dispose()


async def test_an_unreachable_database_fails_the_batch_without_a_storm_of_retries(
    sqlite_settings: Settings,
) -> None:
    calls: list[int] = []

    def unreachable(conn: Connection, items: Sequence[Flaky]) -> list[None]:
        calls.append(len(items))
        raise ConnectionRefusedError("connection refused")

    engine = await open_database(sqlite_settings)
    writer = Writer(
        engine,
        {**write_handlers(), Flaky: unreachable},
        sync_engine=create_writer_engine(sqlite_settings),
    )
    await writer.start()
    try:
        group_id = await _group(engine)
        futures = [writer.submit(_message(group_id, n)) for n in range(63)]
        futures.append(writer.submit(Flaky()))
        results = await asyncio.gather(*futures, return_exceptions=True)
        assert all(isinstance(r, ConnectionRefusedError) for r in results)
        assert calls == [1], "one attempt, not one per write"
    finally:
        await writer.stop()
        await engine.dispose()
