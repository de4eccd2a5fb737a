"""The seams the domain needs from the outside world, each a small protocol.

Adapters implement them: ``gong.storage`` (message store), ``gong.ratelimit`` (limiters),
``gong.pubsub`` (live fan-out). Every protocol has an in-memory implementation used by tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from gong.domain.models import NewMessage, RateLimit

__all__ = [
    "BackendUnavailable",
    "Broker",
    "Decision",
    "Limiter",
    "MessageStore",
    "StoreResult",
    "Subscription",
]


class BackendUnavailable(RuntimeError):
    """A shared backend (Redis) could not be reached; the operation was not done."""


@dataclass(frozen=True, slots=True)
class Decision:
    """A limiter's answer: allowed or not, and until when a block lasts (ms epoch)."""

    allowed: bool
    blocked_until: int | None = None
    count: int = 0


class Limiter(Protocol):
    """Counts accepted messages per key in a sliding window, with a block past the limit."""

    async def acquire(self, key: str, limit: RateLimit, now_ms: int) -> Decision:
        """Count one message for ``key`` if the limit allows it; never counts a refusal."""
        ...

    async def reset(self, key: str) -> None:
        """Forget the window and any block of ``key``."""
        ...


@dataclass(frozen=True, slots=True)
class StoreResult:
    """``message_id`` of the stored message; ``duplicate`` when its msgUuid was seen before."""

    message_id: int | None
    duplicate: bool = False


class MessageStore(Protocol):
    async def store(self, message: NewMessage) -> StoreResult:
        """Store durably; returns only after the message is committed."""
        ...

    def record_refusal(
        self, robot_id: int, errcode: int, errmsg: str, reason: str, ip: str, at_ms: int
    ) -> None:
        """Remember a refused call (best effort; never delays the answer)."""
        ...


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def close(self) -> None: ...


class Broker(Protocol):
    """Live fan-out of events to every open connection of a channel, on any instance."""

    async def publish(self, channel: str, event: bytes) -> None: ...

    async def subscribe(self, *channels: str) -> Subscription: ...
