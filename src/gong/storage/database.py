"""Opening the database: the async engine, SQLite's pragmas, and migrations at start.

Every engine hides SQL parameters from its errors and logs (``hide_parameters``): they hold
robot tokens, secrets and password hashes, and an error's text ends up in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from gong.config import Settings

__all__ = ["create_engine", "create_writer_engine", "migrate", "open_database"]

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
#: Any constant; serialises migrations of several Gong processes sharing one PostgreSQL.
_PG_MIGRATION_LOCK = 0x60_6E_67_01


def create_engine(settings: Settings, *, pool_size: int = 8) -> AsyncEngine:
    """An async engine for the configured database, SQLite tuned for WAL and group commit."""
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"timeout": 30, "check_same_thread": False},
            hide_parameters=True,
        )
        _install_sqlite_pragmas(engine, settings.sqlite_synchronous)
        return engine
    kwargs: dict[str, Any] = {
        "pool_size": pool_size,
        "max_overflow": pool_size,
        "hide_parameters": True,
    }
    if url.startswith("postgresql"):
        kwargs["pool_pre_ping"] = True
    return create_async_engine(url, **kwargs)


def create_writer_engine(settings: Settings) -> Engine | None:
    """For SQLite, the synchronous engine of the group-commit writer; None for other databases.

    Its busy timeout is zero: the writer runs on the event loop and retries a database locked
    by another process itself, with asynchronous sleeps.
    """
    url = settings.sqlalchemy_url
    if not url.startswith("sqlite"):
        return None
    engine = sa.create_engine(
        url.replace("+aiosqlite", "", 1),
        poolclass=NullPool,
        connect_args={"timeout": 0},
        hide_parameters=True,
    )
    _install_sqlite_pragmas(engine, settings.sqlite_synchronous, busy_timeout_ms=0)
    return engine


def _install_sqlite_pragmas(
    engine: AsyncEngine | Engine, synchronous: str, busy_timeout_ms: int = 30_000
) -> None:
    target = engine.sync_engine if isinstance(engine, AsyncEngine) else engine

    @event.listens_for(target, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # aiosqlite's adapter runs the driver's own transaction handling; let SQLAlchemy own it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Checkpoints run from the maintenance task, not inside a request's commit.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(target, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("writer") else "BEGIN")


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
    command.upgrade(_alembic_config(connection), "head")


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def migrate(engine: AsyncEngine, settings: Settings) -> None:
    """Bring the schema up to date; safe when several processes start at once."""
    if engine.dialect.name == "sqlite":
        lock = settings.data_dir / ".migrate.lock"
        await asyncio.to_thread(_acquire_and_run, engine, lock)
        return
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


def _acquire_and_run(engine: AsyncEngine, lock: Path) -> None:
    with _file_lock(lock):
        asyncio.run(_migrate_sqlite(engine.url.render_as_string(hide_password=False)))


async def _migrate_sqlite(url: str) -> None:
    # A private engine in this thread's own loop: SQLite DDL must not share the app's pool.
    engine = create_async_engine(url, poolclass=NullPool, hide_parameters=True)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade)
    finally:
        await engine.dispose()


async def open_database(settings: Settings, *, pool_size: int = 8) -> AsyncEngine:
    """Create the engine and migrate; the one call every entry point makes."""
    engine = create_engine(settings, pool_size=pool_size)
    await migrate(engine, settings)
    return engine
