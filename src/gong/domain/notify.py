"""Who hears of a new message, and why: the notification rule and the notifier.

**The rule** (:func:`reason_for`), for one stored message and one account:

- ``notify`` off (the account's choice): never.
- The account's own message (it posted it): never.
- A message only another account may read (a note): never; recalled messages: never.
- A message that @-mentions the account's member in the group (:attr:`Reason.MENTION`) or is
  ``@all`` (:attr:`Reason.MENTION_ALL`) notifies when ``notify_mentions`` is on — even when the
  group is on do-not-disturb, as DingTalk does.
- Any other message notifies when the account chose "every message" for the group
  (``notify_all``, :attr:`Reason.GROUP`), unless the group is on do-not-disturb.

**Admins** see every group, but only as members hear its mentions: an admin is notified of
``@`` of the member linked to them (``@all`` too, when linked in the group), and of every message
of the groups they chose (``notify_all``); never of all the groups they merely can read. An
account that is neither linked in a group nor an admin is never told of its messages, whatever
an old read state says.

**The notifier** (:class:`Notifier`) runs in the background of the server, one instance at a
time (a lease). It reads the messages stored after its cursor (``meta.notify_cursor``, saved
after each batch of at most :data:`BATCH` messages that notified anyone, and once at the end of
each tick, so a restart neither repeats a notification nor skips a message; batches that notify
nobody, most of a busy monitoring group's, cost the database no write of their own), finds who
to tell with the rule and hands the notifications to each of its deliveries (the account's live
feed, Web Push). The send path never waits for it. A message
stored while a batch was being delivered is read by the next one. On PostgreSQL a message id can
become visible after a higher one (two transactions committing out of order): the notifier stops
before such a hole until :data:`GAP_WAIT_MS` after the message that follows it was posted, then
takes the hole for an id that never committed. Messages older than :data:`STALE_MS` when read
(the server was down) advance the cursor without notifying anyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gong.clock import Clock
from gong.domain.models import SenderType, StoredMessage
from gong.domain.users import Preferences

__all__ = [
    "BATCH",
    "BATCHES_PER_TICK",
    "EVERY_S",
    "GAP_WAIT_MS",
    "LEASE",
    "LEASE_MS",
    "STALE_MS",
    "Deliver",
    "Describe",
    "Notification",
    "Notifier",
    "NotifyStore",
    "Reason",
    "Recipient",
    "message_path",
    "notifications_for",
    "reason_for",
]

log = logging.getLogger(__name__)

#: Messages read per batch; the cursor is saved after each.
BATCH = 100
#: How long the notifier waits for a missing id below a newer message (PostgreSQL commits out
#: of order), counted from when the newer message was posted.
GAP_WAIT_MS = 3_000
#: Messages older than this when the notifier reads them notify nobody.
STALE_MS = 3_600_000
#: The lease's name, and how long one instance holds it; the holder renews it every third.
LEASE = "notify"
LEASE_MS = 60_000
#: The most batches one tick handles before it lets the loop breathe.
BATCHES_PER_TICK = 20
#: How often the notifier looks for new messages, in seconds.
EVERY_S = 0.5


class Reason(enum.StrEnum):
    """Why an account is told of a message."""

    #: The message @-mentions the account's member.
    MENTION = "mention"
    #: The message is @all, and the account is a member of the group.
    MENTION_ALL = "mention_all"
    #: The account chose to hear of every message of the group.
    GROUP = "group"


@dataclass(frozen=True, slots=True)
class Recipient:
    """One account as one group sees it: who they are there, and what they chose."""

    user_id: int
    preferences: Preferences
    #: The account's members in the group (at most one); empty for an admin who is not linked.
    member_ids: frozenset[int] = frozenset()
    #: "Notify me of every message in this group".
    notify_all: bool = False
    #: Do-not-disturb.
    muted: bool = False
    is_admin: bool = False
    #: The language the account reads (its choice, else the server's default).
    language: str = "zh-CN"


@dataclass(frozen=True, slots=True)
class Notification:
    """What an account is told: which message, in which group, from whom, and why."""

    user_id: int
    message_id: int
    group_id: int
    group: str
    sender: str
    text: str
    reason: Reason
    #: The page showing the message (a path of the web app).
    url: str

    def to_json(self) -> dict[str, Any]:
        """The ``notify`` event's data (live feed and Web Push)."""
        return {
            "message_id": self.message_id,
            "group_id": self.group_id,
            "group": self.group,
            "sender": self.sender,
            "text": self.text,
            "reason": str(self.reason),
            "url": self.url,
        }


def message_path(group_id: int, message_id: int) -> str:
    """Where the web app shows a message in its context (as links to a message do)."""
    return f"/groups/{group_id}?at={message_id}#m-{message_id}"


def reason_for(message: StoredMessage, recipient: Recipient) -> Reason | None:
    """Why ``recipient`` is told of ``message``, or None when they are not (the module's rule)."""
    preferences = recipient.preferences
    if not preferences.notify or message.recalled_at is not None:
        return None
    if message.sender_type is SenderType.USER and message.sender_user_id == recipient.user_id:
        return None
    if message.visible_to_user_id is not None and message.visible_to_user_id != recipient.user_id:
        return None
    if not recipient.member_ids and not recipient.is_admin:
        return None
    if preferences.notify_mentions and recipient.member_ids:
        mentioned = {m.get("member_id") for m in message.mentions}
        if recipient.member_ids & mentioned:
            return Reason.MENTION
        if message.at_all:
            return Reason.MENTION_ALL
    if recipient.notify_all and not recipient.muted:
        return Reason.GROUP
    return None


#: The line a notification shows for a message, in a language (the conversation list's).
Describe = Callable[[StoredMessage, str], str]


def notifications_for(
    message: StoredMessage, group: str, recipients: Sequence[Recipient], describe: Describe
) -> list[Notification]:
    """Everyone to tell of ``message`` (in group ``group``), each with why."""
    found: list[Notification] = []
    texts: dict[str, str] = {}
    for recipient in recipients:
        reason = reason_for(message, recipient)
        if reason is None:
            continue
        text = texts.get(recipient.language)
        if text is None:
            text = texts[recipient.language] = describe(message, recipient.language)
        found.append(
            Notification(
                user_id=recipient.user_id,
                message_id=message.id,
                group_id=message.group_id,
                group=group,
                sender=message.sender_name,
                text=text,
                reason=reason,
                url=message_path(message.group_id, message.id),
            )
        )
    return found


class NotifyStore(Protocol):
    """What the notifier reads and keeps (``gong.storage.notify`` implements it)."""

    async def cursor(self) -> int | None:
        """The id of the last message handled; None before the first run."""
        ...

    async def save_cursor(self, message_id: int) -> None: ...

    async def newest_id(self) -> int: ...

    async def messages_after(self, after: int, limit: int) -> list[StoredMessage]:
        """Up to ``limit`` messages with ids above ``after``, oldest first."""
        ...

    async def recipients(self, group_ids: set[int]) -> dict[int, list[Recipient]]:
        """Per group: the accounts linked to one of its members, and the admins who chose to
        hear of all its messages."""
        ...

    async def group_names(self, group_ids: set[int]) -> dict[int, str]: ...

    async def take_lease(self, name: str, holder: str, now_ms: int, until_ms: int) -> bool: ...

    async def release_lease(self, name: str, holder: str) -> None: ...


#: Hands a batch's notifications to one way of telling people (live feed, Web Push).
Deliver = Callable[[list[Notification]], Awaitable[None]]


def _ready(
    rows: Sequence[StoredMessage], cursor: int, now_ms: int, gap_wait_ms: int
) -> list[StoredMessage]:
    """The leading rows that may be handled now: up to a hole in the ids whose next message was
    posted less than ``gap_wait_ms`` ago (the missing one may still commit)."""
    ready: list[StoredMessage] = []
    expected = cursor + 1
    for message in rows:
        if message.id > expected and now_ms - message.created_at < gap_wait_ms:
            break
        ready.append(message)
        expected = message.id + 1
    return ready


@dataclass(slots=True)
class Notifier:
    """Tells accounts of new messages, a batch at a time (see the module's docstring)."""

    store: NotifyStore
    clock: Clock
    deliveries: Sequence[Deliver]
    describe: Describe
    #: Who takes the lease (an instance's id).
    holder: str = "gong"
    batch: int = BATCH
    every_s: float = EVERY_S
    gap_wait_ms: int = GAP_WAIT_MS
    stale_ms: int = STALE_MS
    _cursor: int | None = None
    _lease_until: int = 0
    _task: asyncio.Task[None] | None = None
    _stopping: bool = False
    _busy: asyncio.Event = field(default_factory=asyncio.Event)

    async def _holding(self, now: int) -> bool:
        """Whether this instance holds the lease (taken or renewed when a third is left)."""
        if self._lease_until - now > LEASE_MS * 2 // 3:
            return True
        if await self.store.take_lease(LEASE, self.holder, now, now + LEASE_MS):
            self._lease_until = now + LEASE_MS
            return True
        self._lease_until = 0
        self._cursor = None  # another instance moves it meanwhile
        return False

    async def tick(self) -> int:
        """Handle what was stored since the last tick (at most :data:`BATCHES_PER_TICK`
        batches); the number of notifications handed out. A no-op without the lease."""
        if not await self._holding(self.clock.now_ms()):
            return 0
        if self._cursor is None:
            stored = await self.store.cursor()
            if stored is None:  # the first run: from now on, not the history
                stored = await self.store.newest_id()
                await self.store.save_cursor(stored)
            self._cursor = stored
        sent = 0
        saved = self._cursor
        for _ in range(BATCHES_PER_TICK):
            handled, full = await self._batch()
            sent += handled
            if handled:
                saved = self._cursor
            if not full or self._stopping:
                break
        if self._cursor != saved:
            await self.store.save_cursor(self._cursor)
        return sent

    async def _batch(self) -> tuple[int, bool]:
        """One batch: ``(notifications, whether more may be waiting)``."""
        assert self._cursor is not None
        rows = await self.store.messages_after(self._cursor, self.batch)
        now = self.clock.now_ms()
        ready = _ready(rows, self._cursor, now, self.gap_wait_ms)
        if not ready:
            return 0, False
        fresh = [m for m in ready if now - m.created_at <= self.stale_ms and not m.recalled_at]
        notifications: list[Notification] = []
        if fresh:
            groups = {m.group_id for m in fresh}
            recipients = await self.store.recipients(groups)
            names = await self.store.group_names(groups)
            for message in fresh:
                notifications += notifications_for(
                    message,
                    names.get(message.group_id, ""),
                    recipients.get(message.group_id, []),
                    self.describe,
                )
        if notifications:
            for deliver in self.deliveries:
                try:
                    await deliver(notifications)
                except Exception as exc:  # one way failing must not hold back the others
                    log.warning("notifications not delivered: %s", exc)
        self._cursor = ready[-1].id
        if notifications:  # delivered: never again, even after a crash
            await self.store.save_cursor(self._cursor)
        return len(notifications), len(ready) == len(rows) == self.batch

    # -- the background loop ---------------------------------------------------------------------

    def start(self) -> None:
        """Run :meth:`tick` every :attr:`every_s` seconds of the clock, in the background."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="gong-notifier")

    async def _run(self) -> None:
        while not self._stopping:
            await self.clock.sleep(self.every_s)
            self._busy.set()
            try:
                await self.tick()
            except Exception as exc:
                log.warning("notifying failed: %s", exc)
            finally:
                self._busy.clear()

    async def stop(self, grace_s: float = 15.0) -> None:
        """Stop the loop: a batch being delivered finishes first (within ``grace_s``), so its
        cursor is saved and a restart repeats nothing; then the lease is released."""
        task, self._task = self._task, None
        self._stopping = True
        if task is not None:
            if self._busy.is_set():
                with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                    await asyncio.wait_for(asyncio.shield(task), grace_s)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._lease_until:
            with contextlib.suppress(Exception):
                await self.store.release_lease(LEASE, self.holder)
            self._lease_until = 0
