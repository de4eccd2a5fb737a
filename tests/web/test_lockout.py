"""The sign-in lockout on the database, on every backend, with time moved by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gong.clock import ManualClock
from gong.config import Settings
from gong.storage.database import open_database
from gong.storage.limits import DatabaseLimiter
from gong.storage.schema import limiter_keys
from gong.web.auth.lockout import LOCKOUT_S, SignInLockout

SECRET = b"s" * 32
PASSWORD_AS_USERNAME = "Tr0ub4dor&3-typed-in-the-wrong-box"


@pytest.fixture
async def engine(db_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = await open_database(db_settings)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _keys(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(sa.select(limiter_keys.c.key))).scalars())


async def test_locked_out_until_the_lockout_is_over(engine: AsyncEngine) -> None:
    clock = ManualClock(0)
    lockout = SignInLockout(DatabaseLimiter(engine), SECRET, attempts=3)
    for _ in range(3):
        assert await lockout.admit("198.51.100.1", "alice", clock.now_ms())
        clock.advance(1_000)
    assert not await lockout.admit("198.51.100.1", "alice", clock.now_ms())  # the address
    assert not await lockout.admit("198.51.100.2", "alice", clock.now_ms())  # the username
    # A new process (a new limiter on the same database) still refuses both.
    again = SignInLockout(DatabaseLimiter(engine), SECRET, attempts=3)
    clock.advance(LOCKOUT_S * 1000 - 1)
    assert not await again.admit("198.51.100.3", "alice", clock.now_ms())
    assert not await again.admit("198.51.100.1", "bob", clock.now_ms())
    assert await again.admit("198.51.100.3", "bob", clock.now_ms())
    clock.advance(1)  # both lockouts are over
    assert await again.admit("198.51.100.1", "alice", clock.now_ms())


async def test_a_sign_in_forgets_the_username_not_the_address(engine: AsyncEngine) -> None:
    clock = ManualClock()
    lockout = SignInLockout(DatabaseLimiter(engine), SECRET, attempts=2)
    assert await lockout.admit("198.51.100.1", "alice", clock.now_ms())
    await lockout.signed_in("alice")
    assert await lockout.admit("198.51.100.2", "alice", clock.now_ms())
    assert await lockout.admit("198.51.100.2", "alice", clock.now_ms())
    assert await lockout.admit("198.51.100.1", "carol", clock.now_ms())
    assert not await lockout.admit("198.51.100.1", "dave", clock.now_ms())  # 3rd from .1


async def test_keys_are_digests(engine: AsyncEngine) -> None:
    lockout = SignInLockout(DatabaseLimiter(engine), SECRET, attempts=3)
    assert await lockout.admit("203.0.113.9", PASSWORD_AS_USERNAME.lower(), 0)
    keys = await _keys(engine)
    assert sorted(k.rsplit(":", 1)[0] for k in keys) == ["login:ip", "login:user"]
    for key in keys:
        digest = key.rsplit(":", 1)[1]
        assert len(digest) == 64
        assert int(digest, 16) >= 0
    # Another secret (another installation) gives other keys for the same name.
    other = SignInLockout(DatabaseLimiter(engine), b"t" * 32, attempts=3)
    assert other.key("user", "alice") != lockout.key("user", "alice")


async def test_expired_rows_are_deleted(engine: AsyncEngine) -> None:
    limiter = DatabaseLimiter(engine)
    lockout = SignInLockout(limiter, SECRET, attempts=1)
    assert await lockout.admit("198.51.100.1", "alice", 0)
    assert not await lockout.admit("198.51.100.1", "alice", 0)  # locked out for 300 s
    assert len(await _keys(engine)) == 2
    assert await limiter.prune(LOCKOUT_S * 1000 - 1) == 1  # the username's window is over
    assert await limiter.prune(LOCKOUT_S * 1000) == 1  # and then the address's lockout
    assert await _keys(engine) == []
