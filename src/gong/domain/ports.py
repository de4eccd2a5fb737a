"""The seams the domain needs from the outside world, each a small protocol.

Adapters implement them: ``gong.storage`` (message store), ``gong.ratelimit`` (limiters),
``gong.pubsub`` (live fan-out), ``gong.relay`` (upstream pacing). Every protocol has an
in-memory implementation used by tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from gong.domain.models import HeldMessage, NewMessage, RateLimit
from gong.protocol.pacing import PaceState

__all__ = [
    "BackendUnavailable",
    "Broker",
    "Decision",
    "Limiter",
    "MessageStore",
    "Pacer",
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
    """``message_id`` of the stored message; ``duplicate`` when its msgUuid was seen before;
    ``held`` when it was kept for an overflow summary instead of posted."""

    message_id: int | None
    duplicate: bool = False
    held: bool = False


class MessageStore(Protocol):
    async def store(self, message: NewMessage) -> StoreResult:
        """Store durably; returns only after the message is committed."""
        ...

    def record_refusal(
        self, robot_id: int, errcode: int, errmsg: str, reason: str, ip: str, at_ms: int
    ) -> None:
        """Remember a refused call (best effort; never delays the answer)."""
        ...

    async def held_messages(self, robot_id: int, limit: int) -> list[HeldMessage]:
        """The oldest messages held for the robot's next overflow summary."""
        ...


class Pacer(Protocol):
    """Counts sends to each upstream in a sliding window, with pauses (a throttle answer).

    Keys are :attr:`~gong.domain.models.Upstream.key`. The in-memory implementation serves one
    process; a shared one (Redis) makes pacing hold across instances and may treat ``restore``
    as already done.
    """

    async def state(self, key: str, limit: int, window_ms: int, now_ms: int) -> PaceState:
        """Where ``key`` stands: free slots, when the next frees, the last send, any pause."""
        ...

    async def take(self, key: str, limit: int, window_ms: int, now_ms: int) -> bool:
        """Count one send at ``now_ms`` if a slot is free (atomically)."""
        ...

    async def pause(self, key: str, until_ms: int) -> None:
        """Allow no send to ``key`` before ``until_ms``."""
        ...

    async def restore(self, key: str, sent_at: Sequence[int], paused_until: int) -> None:
        """Make sure these earlier sends and this pause are counted (idempotent)."""
        ...


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def close(self) -> None: ...


class Broker(Protocol):
    """Live fan-out of events to every open connection of a channel, on any instance."""

    async def publish(self, channel: str, event: bytes) -> None: ...

    async def subscribe(self, *channels: str) -> Subscription: ...
