"""The management API's admin tokens (:class:`~gong.domain.admin_tokens.AdminTokens`) over the
real token store of each backend: made here, kept only as hashes, the configured one never
stored."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.admin_tokens import AdminTokens, hash_token
from gong.storage.tokens import SqlAdminTokens
from tests.domain.admin_parts import migrated

CONFIGURED = "configured-admin-token-0123456789"


@pytest.fixture
async def engine(db_settings: Settings) -> AsyncIterator[AsyncEngine]:
    async with migrated(db_settings) as engine:
        yield engine


def tokens(engine: AsyncEngine, clock: ManualClock, configured: str | None = None) -> AdminTokens:
    return AdminTokens(SqlAdminTokens(engine), clock, configured)


async def test_a_created_token_admits_and_only_its_hash_is_stored(
    engine: AsyncEngine, clock: ManualClock
) -> None:
    service = tokens(engine, clock)
    token = await service.create("ci")
    assert re.fullmatch(r"gong_[A-Za-z0-9_-]{43}", token)
    hashes = await SqlAdminTokens(engine).token_hashes()
    assert hashes == [hash_token(token)]
    assert token not in hashes
    assert re.fullmatch(r"[0-9a-f]{64}", hashes[0])
    # The service and the store hash alike.

    assert await service.admits(token)
    assert await service.count() == 1
    another = await service.create()
    assert another != token
    assert await service.admits(another) and await service.admits(token)
    assert await service.count() == 2


@pytest.mark.parametrize("wrong", ["", "gong_", "nope", CONFIGURED])
async def test_a_wrong_token_is_not_admitted(
    engine: AsyncEngine, clock: ManualClock, wrong: str
) -> None:
    service = tokens(engine, clock)
    token = await service.create()
    assert not await service.admits(wrong)
    assert not await service.admits(token + "x")
    assert not await service.admits(token[:-1])
    assert not await service.admits(hash_token(token))  # the stored hash is not a token


async def test_the_configured_token_admits_and_is_never_stored(
    engine: AsyncEngine, clock: ManualClock
) -> None:
    service = tokens(engine, clock, CONFIGURED)
    assert await service.admits(CONFIGURED)
    assert not await service.admits(CONFIGURED + "x")
    assert not await service.admits("")
    assert await service.count() == 0
    assert await SqlAdminTokens(engine).token_hashes() == []
    # Stored tokens admit alongside it.
    made = await service.create()
    assert await service.admits(made) and await service.admits(CONFIGURED)


async def test_revoke_all_revokes_the_stored_tokens_not_the_configured_one(
    engine: AsyncEngine, clock: ManualClock
) -> None:
    service = tokens(engine, clock, CONFIGURED)
    made = [await service.create(f"t{i}") for i in range(3)]
    assert await service.revoke_all() == 3
    for token in made:
        assert not await service.admits(token)
    assert await service.count() == 0
    assert await service.admits(CONFIGURED)
    assert await service.revoke_all() == 0


async def test_the_first_token_is_made_once(engine: AsyncEngine, clock: ManualClock) -> None:
    service = tokens(engine, clock)
    first = await service.first()
    assert first is not None and await service.admits(first)
    assert await service.first() is None
    assert await service.count() == 1
    # Once every token is revoked there is none again: the next start makes one.
    await service.revoke_all()
    again = await service.first()
    assert again is not None and again != first
    assert await service.admits(again) and not await service.admits(first)


async def test_no_first_token_when_one_is_configured_or_stored(
    engine: AsyncEngine, clock: ManualClock
) -> None:
    assert await tokens(engine, clock, CONFIGURED).first() is None
    assert await SqlAdminTokens(engine).token_hashes() == []
    made = await tokens(engine, clock).create("by hand")
    assert await tokens(engine, clock).first() is None
    assert await SqlAdminTokens(engine).token_hashes() == [hash_token(made)]
