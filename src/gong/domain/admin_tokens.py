"""The management API's admin tokens: made here, kept only as hashes, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from gong.clock import Clock
from gong.domain.ports import AdminTokenStore

__all__ = ["AdminTokens", "hash_token"]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class AdminTokens:
    store: AdminTokenStore
    clock: Clock
    #: ``GONG_ADMIN_TOKEN``, when the deployment sets one (it is never stored).
    configured: str | None = None

    async def create(self, label: str = "") -> str:
        """A new admin token; only its hash is kept, so this is the one chance to see it."""
        token = "gong_" + secrets.token_urlsafe(32)
        await self.store.insert_token_hash(hash_token(token), label, self.clock.now_ms())
        return token

    async def count(self) -> int:
        return await self.store.count()

    async def revoke_all(self) -> int:
        """Revoke every stored token; returns how many there were."""
        return await self.store.delete_tokens()

    async def first(self, label: str = "first start") -> str | None:
        """The first admin token, made when there is none (and none is configured)."""
        if self.configured or await self.count() > 0:
            return None
        return await self.create(label)

    async def admits(self, token: str) -> bool:
        """Whether ``token`` is the configured one or a stored one (constant-time compares)."""
        if self.configured and hmac.compare_digest(self.configured.encode(), token.encode()):
            return True
        digest = hash_token(token).encode()
        found = False
        for stored in await self.store.token_hashes():
            found |= hmac.compare_digest(stored.encode(), digest)
        return found
