"""Fixtures shared by the whole suite.

Backends: ``db_settings`` runs a test against SQLite (a real file) and PostgreSQL (a database
created for this test session). Services that are missing make their tests skip with a reason,
or fail when ``GONG_REQUIRE_SERVICES=1`` (as in CI).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.models import Robot
from gong.web.app import GongApp, create_app
from tests.helpers import (
    ADMIN_TOKEN,
    PG_ADMIN_URL,
    REDIS_URL,
    create_robot,
    need,
    port_open,
    run_sync,
)

# The suite's own assertions are written in English: every Gong it starts (in process, or as a
# server or CLI subprocess, which inherit the environment) speaks English unless a test asks for
# another language. The language rules themselves are tested in tests/web/test_i18n.py.
os.environ["GONG_DEFAULT_LANGUAGE"] = "en"
os.environ["LANGUAGE"] = "en"  # gettext's own variable: the CLI's choice, no effect on encodings
# Nothing the suite starts without a data directory of its own may touch the real per-user one.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="gong-tests-xdg-")

# -- PostgreSQL ------------------------------------------------------------------------------------

_pg_state: dict[str, Any] = {}


def _pg_available() -> tuple[bool, str]:
    if not port_open("127.0.0.1", 5432):
        return False, "nothing listens on 127.0.0.1:5432"
    return True, ""


async def _pg_exec(url: str, *statements: str) -> None:
    engine = create_async_engine(
        url.replace("postgresql://", "postgresql+asyncpg://"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database for this test session; dropped at the end."""
    ok, reason = _pg_available()
    need("PostgreSQL", ok, reason)
    name = f"gong_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    run_sync(_pg_exec(PG_ADMIN_URL, f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    run_sync(_pg_exec(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _pg_reset(url: str) -> None:
    """Empty every table (and restart ids) so each test starts from a fresh database."""
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with engine.begin() as conn:
            tables = (
                (
                    await conn.execute(
                        sa.text(
                            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                            "AND tablename <> 'alembic_version'"
                        )
                    )
                )
                .scalars()
                .all()
            )
            if tables:
                names = ", ".join(f'"{t}"' for t in tables)
                await conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


# -- Settings per backend --------------------------------------------------------------------------


def _base_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "admin_token": ADMIN_TOKEN,
        "public_url": "http://gong.test",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return _base_settings(tmp_path)


@pytest.fixture(params=["sqlite", "postgres"])
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for each storage backend in turn."""
    if request.param == "sqlite":
        return _base_settings(tmp_path)
    url = request.getfixturevalue("pg_database")
    run_sync(_pg_reset(url))
    return _base_settings(tmp_path, database_url=url)


@pytest.fixture
def redis_url() -> str:
    need("Redis", port_open("127.0.0.1", 6379), "nothing listens on 127.0.0.1:6379")
    return REDIS_URL


@pytest.fixture
def redis_prefix() -> str:
    return f"gong-test-{uuid.uuid4().hex[:10]}"


# -- The app, in process ---------------------------------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_800_000_000_000)


@pytest.fixture
async def app(sqlite_settings: Settings, clock: ManualClock) -> AsyncIterator[GongApp]:
    """A started Gong app on SQLite with a manual clock (no server; see ``client``)."""
    gong = create_app(sqlite_settings, clock=clock)
    await gong.startup()
    try:
        yield gong
    finally:
        await gong.shutdown()


def make_client(app: GongApp, ip: str = "203.0.113.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://gong.test")


@pytest.fixture
async def client(app: GongApp) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app) as c:
        yield c


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


MakeRobot = Callable[..., Awaitable[Robot]]


@pytest.fixture
def make_robot(app: GongApp) -> MakeRobot:
    """Create a group (once) and a robot in it, with the given settings."""
    state: dict[str, int] = {}

    async def make(**kwargs: Any) -> Robot:
        groups = app.runtime.groups
        if "group" not in state:
            group = await groups.create("ops")
            await groups.add_member(group.id, name="张三", mobile="13800000001", user_id="zhangsan")
            await groups.add_member(group.id, name="李四", mobile="13800000002", user_id="lisi")
            state["group"] = group.id
        kwargs.setdefault("name", "robot")
        return await create_robot(app.runtime, state["group"], **kwargs)

    return make
