"""The seams the domain needs from the outside world, each a small protocol.

Adapters implement them: ``gong.storage`` (message store), ``gong.ratelimit`` (limiters),
``gong.pubsub`` (live fan-out), ``gong.relay`` (upstream pacing). Every protocol has an
in-memory implementation used by tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gong.domain.hints import Hint
from gong.domain.models import (
    Group,
    HeldMessage,
    IgnoredEvent,
    IgnoreReason,
    Member,
    NewMessage,
    RateLimit,
    Refusal,
    Robot,
    RobotView,
    StoredMessage,
)
from gong.protocol.pacing import PaceState

__all__ = [
    "AdminTokenStore",
    "BackendUnavailable",
    "Broker",
    "Decision",
    "FiringMark",
    "GroupStore",
    "History",
    "Limiter",
    "MessageStore",
    "MessageUpdate",
    "Pacer",
    "RobotStore",
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
    ``held`` when it was kept for an overflow summary instead of posted; ``repeated`` when the
    quiet window counted it on the earlier identical message ``message_id`` instead.
    ``updates`` are the earlier messages whose state changed with it (resolved alerts, a
    repeat count), for live readers."""

    message_id: int | None
    duplicate: bool = False
    held: bool = False
    repeated: bool = False
    updates: tuple[MessageUpdate, ...] = ()


@dataclass(frozen=True, slots=True)
class MessageUpdate:
    """A stored message's new state: its alert state and its repeat count."""

    message_id: int
    group_id: int
    alert: dict[str, Any] | None
    repeat: int
    visible_to_user_id: int | None = None


@dataclass(frozen=True, slots=True)
class FiringMark:
    """An alert a message showed firing and that has not resolved since."""

    id: int
    message_id: int
    fingerprint: str
    starts_at: int | None


class MessageStore(Protocol):
    async def store(self, message: NewMessage) -> StoreResult:
        """Store durably; returns only after the message is committed."""
        ...

    def record_refusal(
        self,
        robot_id: int,
        errcode: int,
        errmsg: str,
        reason: str,
        ip: str,
        at_ms: int,
        hint: Hint | None = None,
    ) -> None:
        """Remember a refused call and what most likely went wrong (best effort; never delays
        the answer)."""
        ...

    async def record_ignored(
        self, robot_id: int, event: str, reason: IgnoreReason, detail: str, at_ms: int
    ) -> None:
        """Count an event an integration robot acknowledged and did not show (stored before
        the sender is answered)."""
        ...

    async def held_messages(self, robot_id: int, limit: int) -> list[HeldMessage]:
        """The oldest messages held for the robot's next overflow summary."""
        ...

    async def firing_alerts(
        self,
        robot_id: int,
        *,
        fingerprints: Sequence[str] = (),
        group_key: str | None = None,
    ) -> list[FiringMark]:
        """The robot's alerts still firing, by fingerprint or by group key, oldest first."""
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


# -- records ---------------------------------------------------------------------------------------
#
# Storage keeps records and answers queries; it checks nothing but what the database itself
# enforces (a unique mobile in a group, a record that exists). The rules live in the services
# (``gong.domain.groups``, ``gong.domain.robot_admin``). Every change bumps the configuration
# version in the same transaction, so other processes notice it.


class GroupStore(Protocol):
    """Groups and their members."""

    async def insert_group(self, name: str, now_ms: int) -> Group: ...

    async def get_group(self, group_id: int) -> Group:
        """Raises :class:`~gong.domain.errors.NotFound`."""
        ...

    async def list_groups(self) -> list[Group]: ...

    async def update_group(
        self,
        group_id: int,
        *,
        name: str | None = None,
        dissolved: bool | None = None,
        timezone: str | None = None,
        retention_days: int | None = None,
        retention_count: int | None = None,
    ) -> Group:
        """``timezone=""`` clears the zone. Raises :class:`~gong.domain.errors.NotFound`."""
        ...

    async def insert_member(
        self, group_id: int, name: str, mobile: str | None, user_id: str | None, now_ms: int
    ) -> Member:
        """Raises :class:`~gong.domain.errors.Conflict` when the mobile or userId is taken."""
        ...

    async def list_members(self, group_id: int) -> list[Member]: ...

    async def get_member(self, member_id: int) -> Member:
        """Raises :class:`~gong.domain.errors.NotFound`."""
        ...

    async def find_member(self, group_id: int, *, mobile: str) -> Member | None: ...

    async def delete_member(self, member_id: int) -> None:
        """Raises :class:`~gong.domain.errors.NotFound`."""
        ...


class RobotStore(Protocol):
    """Robots, their call counts and the views the send path caches."""

    async def insert_robot(self, robot: Robot) -> Robot:
        """Store a new robot (its ``id`` is ignored and assigned); returns it as stored."""
        ...

    async def get_robot(self, robot_id: int) -> Robot:
        """Raises :class:`~gong.domain.errors.NotFound`."""
        ...

    async def robot_by_token(self, access_token: str) -> Robot | None: ...

    async def list_robots(self, group_id: int | None = None) -> list[Robot]: ...

    async def save_robot(self, robot: Robot, fields: Sequence[str]) -> Robot:
        """Write the named fields of ``robot`` (and ``updated_at``); returns it as stored.

        Raises:
            NotFound: the robot was deleted meanwhile.
        """
        ...

    async def delete_robot(self, robot_id: int) -> None:
        """Raises :class:`~gong.domain.errors.NotFound`."""
        ...

    async def robot_kinds(self) -> dict[str, int]: ...

    async def robot_stats(self, robot_id: int) -> dict[str, int]: ...

    async def robot_views(self, access_tokens: Sequence[str]) -> dict[str, RobotView]: ...

    async def ignored_events(self, robot_id: int) -> list[IgnoredEvent]:
        """What the robot received and did not show, the most recently seen first."""
        ...

    async def forget_ignored(self, robot_id: int, events: Sequence[str]) -> None:
        """Drop the ignored-event records of ``events``."""
        ...

    async def all_robot_views(self, limit: int) -> dict[str, RobotView]: ...

    async def config_version(self) -> int: ...


class History(Protocol):
    """What was posted and refused, read back."""

    async def list_messages(
        self,
        group_id: int,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = 50,
        viewer: int | None = None,
    ) -> list[StoredMessage]: ...

    async def get_message(self, message_id: int, viewer: int | None = None) -> StoredMessage: ...

    async def count_messages(self, group_id: int | None = None) -> int: ...

    async def list_refusals(self, robot_id: int, limit: int = 50) -> list[Refusal]: ...


class AdminTokenStore(Protocol):
    """Hashes of the management API's tokens."""

    async def insert_token_hash(self, token_hash: str, label: str, now_ms: int) -> None: ...

    async def token_hashes(self) -> list[str]: ...

    async def delete_tokens(self) -> int: ...

    async def count(self) -> int: ...
