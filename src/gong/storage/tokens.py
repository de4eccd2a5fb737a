"""Hashes of the management API's tokens. Only a token's hash is kept; making a token (and
showing it, once) is the caller's business."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gong.domain.ports import AdminTokenStore
from gong.storage.schema import admin_tokens

__all__ = ["SqlAdminTokens"]


class SqlAdminTokens:
    """Admin token hashes (an :class:`~gong.domain.ports.AdminTokenStore`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def insert_token_hash(self, token_hash: str, label: str, now_ms: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                admin_tokens.insert().values(token_hash=token_hash, label=label, created_at=now_ms)
            )

    async def token_hashes(self) -> list[str]:
        async with self.engine.connect() as conn:
            return list((await conn.execute(sa.select(admin_tokens.c.token_hash))).scalars())

    async def delete_tokens(self) -> int:
        """Revoke every token; returns how many there were."""
        async with self.engine.begin() as conn:
            return (await conn.execute(sa.delete(admin_tokens))).rowcount

    async def count(self) -> int:
        async with self.engine.connect() as conn:
            return int(await conn.scalar(sa.select(sa.func.count()).select_from(admin_tokens)) or 0)


#: mypy checks here that the class is a ``AdminTokenStore``.
_PROTOCOL: type[AdminTokenStore] = SqlAdminTokens
