"""What happens to messages after they are posted: recall, retention, export.

- **Recall.** An admin may recall any message; a person may recall what they posted, within
  :data:`RECALL_WINDOW_MS`. The content leaves storage and the search index, pending relay
  copies are cancelled, and an audit record stays on the message (who, when). Live readers are
  told (``message_recalled``).
- **Retention.** A group keeps its messages forever, or ``retention_days`` days and/or its
  newest ``retention_count``. :meth:`Archive.prune` deletes the rest in batches, with what
  belongs to them (mentions, search text, relay records, alert and quiet marks); one instance
  at a time does it (a lease), so instances sharing a database never race.
- **Export.** :meth:`Archive.export` yields a group's whole history, oldest first, a batch at a
  time (constant memory, no cap).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from gong.clock import Clock
from gong.domain.errors import Conflict, Forbidden, GongError
from gong.domain.models import Group, SenderType, StoredMessage
from gong.i18n import core

__all__ = [
    "PRUNE_BATCH",
    "PRUNE_PAUSE_S",
    "PRUNE_YIELD",
    "RECALL_WINDOW_MS",
    "Actor",
    "Archive",
    "HistoryStore",
    "PruneReport",
    "can_recall",
    "recall_refusal",
]

#: How long after posting a person may recall their own message.
RECALL_WINDOW_MS = 24 * 3_600_000
#: Messages deleted per transaction by the pruner (short transactions: the send path waits
#: for none of them for long).
PRUNE_BATCH = 500
#: After each batch the pruner pauses this many times as long as the batch took (and at least
#: :data:`PRUNE_PAUSE_S`), so it holds the database (SQLite's one write lock) at most a sixth
#: of the time and messages arriving meanwhile go first.
PRUNE_YIELD = 5.0
PRUNE_PAUSE_S = 0.02
#: How long one instance holds the pruning lease.
LEASE_MS = 120_000
_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a web app account, or the admin token / the CLI (``user_id`` None)."""

    user_id: int | None
    is_admin: bool
    #: For the audit record: the account's username, or ``admin``.
    name: str

    @classmethod
    def admin(cls, name: str = "admin") -> Actor:
        return cls(None, True, name)


@dataclass(frozen=True, slots=True)
class PruneReport:
    groups: int
    deleted: int


class HistoryStore(Protocol):
    async def get_message(self, message_id: int, viewer: int | None = None) -> StoredMessage:
        """Raises NotFound when there is none (or ``viewer`` may not read it)."""
        ...

    async def recall_message(self, message_id: int, by: str, at_ms: int) -> StoredMessage:
        """Remove the content (message, search text, pending relay copies), keep who and when;
        raises Conflict when it was recalled already."""
        ...

    async def groups_with_retention(self) -> list[Group]: ...

    async def prune_group(
        self, group_id: int, *, older_than: int | None, keep_newest: int | None, batch: int
    ) -> int:
        """Delete up to ``batch`` of the group's messages created before ``older_than`` or
        below its newest ``keep_newest``, with what belongs to them; the number deleted."""
        ...

    async def take_lease(self, name: str, holder: str, now_ms: int, until_ms: int) -> bool: ...

    async def release_lease(self, name: str, holder: str) -> None: ...

    def export(
        self, group_id: int, since_ms: int | None, batch: int
    ) -> AsyncIterator[StoredMessage]:
        """The group's messages oldest first (those everyone in it sees)."""
        ...


def recall_refusal(message: StoredMessage, actor: Actor, now_ms: int) -> GongError | None:
    """Why ``actor`` may not recall ``message`` at ``now_ms`` (the error to raise), or None when
    they may: an admin recalls any message, a person what they posted, within
    :data:`RECALL_WINDOW_MS`; nobody recalls a message twice."""
    if message.recalled_at is not None:
        return Conflict(core.lazy("message %(id)s was recalled already", id=message.id))
    if actor.is_admin:
        return None
    own = message.sender_type is SenderType.USER and message.sender_user_id == actor.user_id
    if not own or actor.user_id is None:
        return Forbidden(core.lazy("only an admin can recall a message someone else posted"))
    if now_ms - message.created_at > RECALL_WINDOW_MS:
        return Forbidden(core.lazy("your own messages can be recalled for 24 hours after posting"))
    return None


def can_recall(message: StoredMessage, actor: Actor, now_ms: int) -> bool:
    """Whether ``actor`` may recall ``message`` now (pages show a "Recall" action for these)."""
    return recall_refusal(message, actor, now_ms) is None


Announce = Callable[[StoredMessage], Awaitable[None]]


async def _quietly(message: StoredMessage) -> None:
    """No live readers to tell (the CLI: servers' readers see it on their next load)."""


@dataclass(slots=True)
class Archive:
    store: HistoryStore
    clock: Clock
    #: Tells live readers a message was recalled.
    on_recalled: Announce = _quietly
    #: Who takes the pruning lease (an instance's id).
    holder: str = "gong"
    #: The shortest pause between pruning batches, and the pause per second of batch.
    pause_s: float = PRUNE_PAUSE_S
    yield_factor: float = PRUNE_YIELD

    async def recall(self, message_id: int, actor: Actor) -> StoredMessage:
        """Recall a message for everyone.

        Raises:
            NotFound: no such message, or ``actor`` may not read it.
            Forbidden: a person recalling what someone else (or a robot) posted, or their own
                message after :data:`RECALL_WINDOW_MS`.
            Conflict: it was recalled already.
        """
        message = await self.store.get_message(message_id, viewer=actor.user_id)
        now = self.clock.now_ms()
        refusal = recall_refusal(message, actor, now)
        if refusal is not None:
            raise refusal
        recalled = await self.store.recall_message(message_id, actor.name, now)
        await self.on_recalled(recalled)
        return recalled

    async def prune(
        self, *, batch: int = PRUNE_BATCH, max_batches: int | None = None
    ) -> PruneReport:
        """Enforce every group's retention, in batches; a no-op while another instance holds
        the lease. ``max_batches`` bounds one run (the rest waits for the next)."""
        now = self.clock.now_ms()
        if not await self.store.take_lease("prune", self.holder, now, now + LEASE_MS):
            return PruneReport(0, 0)
        deleted = groups = batches = 0
        try:
            for group in await self.store.groups_with_retention():
                groups += 1
                older = now - group.retention_days * _DAY_MS if group.retention_days else None
                while max_batches is None or batches < max_batches:
                    began = asyncio.get_running_loop().time()
                    gone = await self.store.prune_group(
                        group.id,
                        older_than=older,
                        keep_newest=group.retention_count,
                        batch=batch,
                    )
                    batches += 1
                    deleted += gone
                    if gone < batch:
                        break
                    took = asyncio.get_running_loop().time() - began
                    await asyncio.sleep(max(self.pause_s, took * self.yield_factor))
                    # Still ours: renew the lease between batches of a long run.
                    now = self.clock.now_ms()
                    await self.store.take_lease("prune", self.holder, now, now + LEASE_MS)
        finally:
            await self.store.release_lease("prune", self.holder)
        return PruneReport(groups, deleted)

    def export(
        self, group_id: int, since_ms: int | None = None, batch: int = 1_000
    ) -> AsyncIterator[StoredMessage]:
        """A group's whole history, oldest first, ``batch`` messages in memory at a time."""
        return self.store.export(group_id, since_ms, batch)
