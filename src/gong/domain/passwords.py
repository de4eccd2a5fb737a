"""Password hashing with Argon2id (argon2-cffi), off the event loop: a hash costs tens of ms."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["hash_password", "hash_password_sync", "verify_password"]

_HASHER = PasswordHasher()
#: Verified against when the username is unknown, so both answers take the same time.
_DUMMY = _HASHER.hash("gong: no such user")


def hash_password_sync(password: str) -> str:
    return str(_HASHER.hash(password))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(hash_password_sync, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return bool(_HASHER.verify(stored or _DUMMY, password)) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the stored hash; ``stored=None`` costs the same and fails."""
    return await asyncio.to_thread(_verify, stored, password)
