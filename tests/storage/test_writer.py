"""The group-commit writer: batching under concurrency, isolation of a failing write."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gong.config import Settings
from gong.domain.models import NewMessage, SenderType
from gong.storage.database import create_writer_engine, open_database
from gong.storage.repository import write_handlers
from gong.storage.schema import messages
from gong.storage.writer import Writer, WriterClosed


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
    from gong.storage.repository import _MESSAGE_COLUMNS, message_row

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
