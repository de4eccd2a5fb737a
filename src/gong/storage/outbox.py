"""The relay's durable state: deliveries, upstream sends, lane leases, the pacing log.

Deliveries are written with their message, in the same transaction (``write_messages``); this
module reads them and records the relay's progress. Every write goes through the group-commit
writer as a :class:`Transaction`, so on SQLite it never competes with the send path for the
write lock, and it is committed before the caller goes on.

A send is one request: a message as it was (``single``), a ``digest``, a ``summary`` of a message
too large for the upstream, or one numbered part of such a message (``split``: the parts are
recorded together, in order, with msgUuids ``<base>-<k>of<n>``; the last carries the delivery,
and a part that fails fails the parts after it).

Only the holder of a robot's lane lease (``relay_lanes``) touches that robot's deliveries and
sends, so several processes sharing PostgreSQL never work the same robot at once; a lease left
by a dead process expires.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gong.domain.models import Delivery, DeliveryState, Group, HeldMessage, UpstreamSend
from gong.protocol.errors import RobotError
from gong.protocol.messages import parse_message
from gong.storage.rows import group_of
from gong.storage.schema import (
    groups,
    messages,
    overflow_messages,
    relay_attempts,
    relay_deliveries,
    relay_lanes,
    relay_sends,
    relay_upstreams,
)
from gong.storage.writer import Writer

__all__ = ["Outbox", "Queue", "Transaction", "write_transactions"]

#: The end of a split part's msgUuid: ``-2of3``.
_PART = re.compile(r"-\d+of\d+$")
#: Longest upstream window; older pacing records are of no use.
PACE_HISTORY_MS = 3_600_000


@dataclass(slots=True)
class Transaction:
    """A small write of the relay, run in the writer's next batch."""

    run: Callable[[Connection], Any]


def write_transactions(conn: Connection, items: Sequence[Transaction]) -> list[Any]:
    return [item.run(conn) for item in items]


def _insert_for(conn: Connection) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL spell it alike)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


def _title(content: dict[str, Any]) -> str:
    try:
        title = parse_message(content).title()
    except RobotError:
        return ""
    title = " ".join(title.split())
    return title if len(title) <= 120 else title[:119] + "…"


def _send(row: Any) -> UpstreamSend:
    return UpstreamSend(
        id=row.id,
        robot_id=row.robot_id,
        kind=row.kind,
        msg_uuid=row.msg_uuid,
        content=json.loads(row.content),
        items=row.items,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_attempt_at=row.last_attempt_at,
        errcode=row.errcode,
        errmsg=row.errmsg,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


def _delivery(row: Any, send: UpstreamSend | None = None) -> Delivery:
    content = json.loads(row.content)
    return Delivery(
        id=row.id,
        robot_id=row.robot_id,
        message_id=row.message_id,
        held_id=row.held_id,
        state=DeliveryState(row.state),
        content=content,
        created_at=row.created_at,
        updated_at=row.updated_at,
        title=_title(content),
        send=send,
        repeat=bool(row.repeat),
    )


@dataclass(frozen=True, slots=True)
class Queue:
    """What a robot has waiting to be put in a send: ``messages`` to forward, and when the
    oldest repeat counted by the quiet window was queued (None: no repeat)."""

    messages: int
    oldest_repeat_at: int | None

    @property
    def empty(self) -> bool:
        return self.messages == 0 and self.oldest_repeat_at is None


_PENDING = DeliveryState.PENDING.value


class Outbox:
    """Reads and writes of the relay; without a writer (the CLI) it can only read."""

    def __init__(self, engine: AsyncEngine, writer: Writer | None = None) -> None:
        self.engine = engine
        self.writer = writer

    async def _write(self, run: Callable[[Connection], Any]) -> Any:
        if self.writer is None:
            raise RuntimeError("this outbox is read-only")
        return await self.writer.submit(Transaction(run))

    # -- the worker's reads --------------------------------------------------------------------

    async def robots_with_work(self) -> list[int]:
        """Robots with deliveries not yet delivered or failed."""
        query = (
            sa.select(relay_deliveries.c.robot_id)
            .where(relay_deliveries.c.state == _PENDING)
            .distinct()
        )
        async with self.engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    async def open_send(self, robot_id: int) -> UpstreamSend | None:
        """The robot's send still to be acknowledged (there is at most one), if any."""
        query = (
            sa.select(relay_sends)
            .where(relay_sends.c.robot_id == robot_id, relay_sends.c.state == "pending")
            .order_by(relay_sends.c.id)
            .limit(1)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _send(row)

    def _queued(self, robot_id: int) -> Any:
        return sa.and_(
            relay_deliveries.c.robot_id == robot_id,
            relay_deliveries.c.state == _PENDING,
            relay_deliveries.c.send_id.is_(None),
        )

    async def count_queued(self, robot_id: int) -> int:
        """Deliveries waiting to be put in a send (repeats included)."""
        query = sa.select(sa.func.count()).select_from(relay_deliveries)
        async with self.engine.connect() as conn:
            return int(await conn.scalar(query.where(self._queued(robot_id))) or 0)

    async def queue(self, robot_id: int) -> Queue:
        """How many messages wait to be put in a send, and since when the oldest repeat."""
        query = (
            sa.select(
                sa.func.count().filter(relay_deliveries.c.repeat.is_(sa.false())),
                sa.func.min(relay_deliveries.c.created_at).filter(
                    relay_deliveries.c.repeat.is_(sa.true())
                ),
            )
            .select_from(relay_deliveries)
            .where(self._queued(robot_id))
        )
        async with self.engine.connect() as conn:
            count, oldest = (await conn.execute(query)).one()
        return Queue(int(count or 0), None if oldest is None else int(oldest))

    async def queued(self, robot_id: int, limit: int, *, repeats: bool = True) -> list[Delivery]:
        """The oldest deliveries waiting to be put in a send (without repeats, if so asked)."""
        query = sa.select(relay_deliveries).where(self._queued(robot_id))
        if not repeats:
            query = query.where(relay_deliveries.c.repeat.is_(sa.false()))
        query = query.order_by(relay_deliveries.c.id).limit(limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_delivery(r) for r in rows]

    async def group(self, group_id: int) -> Group | None:
        """The group a relayed robot posts in (its name and time zone go into what is sent)."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(groups).where(groups.c.id == group_id))).first()
        return None if row is None else group_of(row)

    async def alert_count(self, message_id: int) -> int | None:
        """How many alerts a stored alert message shows (firing and resolved); None for a
        message that is not an alert group."""
        query = sa.select(messages.c.alert).where(messages.c.id == message_id)
        async with self.engine.connect() as conn:
            alert = await conn.scalar(query)
        if not alert:
            return None
        try:
            state = json.loads(alert)
            return int(state.get("firing") or 0) + int(state.get("resolved") or 0)
        except (ValueError, TypeError, AttributeError):
            return None

    async def pace_history(
        self, now: int, key: str | None = None
    ) -> dict[str, tuple[list[int], int]]:
        """Recent send attempts and live pauses, per upstream key (or for one key)."""
        attempts = sa.select(relay_attempts.c.upstream, relay_attempts.c.at).where(
            relay_attempts.c.at > now - PACE_HISTORY_MS
        )
        pauses = sa.select(relay_upstreams).where(relay_upstreams.c.paused_until > now)
        if key is not None:
            attempts = attempts.where(relay_attempts.c.upstream == key)
            pauses = pauses.where(relay_upstreams.c.upstream == key)
        history: dict[str, tuple[list[int], int]] = {}
        async with self.engine.connect() as conn:
            for upstream, at in (await conn.execute(attempts)).all():
                history.setdefault(upstream, ([], 0))[0].append(at)
            for row in (await conn.execute(pauses)).all():
                times, _ = history.get(row.upstream, ([], 0))
                history[row.upstream] = (times, row.paused_until)
        return history

    # -- the worker's writes -------------------------------------------------------------------

    async def acquire_lane(self, robot_id: int, owner: str, now: int, lease_ms: int) -> bool:
        """Take (or renew) the robot's lane unless another live owner holds it."""

        def run(conn: Connection) -> bool:
            insert = _insert_for(conn)
            stmt = insert(relay_lanes).values(
                robot_id=robot_id, owner=owner, lease_until=now + lease_ms
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[relay_lanes.c.robot_id],
                set_={"owner": stmt.excluded.owner, "lease_until": stmt.excluded.lease_until},
                where=sa.or_(relay_lanes.c.lease_until < now, relay_lanes.c.owner == owner),
            ).returning(relay_lanes.c.robot_id)
            return (conn.execute(stmt)).first() is not None

        try:
            return bool(await self._write(run))
        except sa.exc.IntegrityError:  # the robot was deleted
            return False

    async def release_lane(self, robot_id: int, owner: str) -> None:
        def run(conn: Connection) -> None:
            conn.execute(
                sa.delete(relay_lanes).where(
                    relay_lanes.c.robot_id == robot_id, relay_lanes.c.owner == owner
                )
            )

        await self._write(run)

    async def clear_lanes(self) -> None:
        """Forget every lease (a single-process database, at start)."""

        def run(conn: Connection) -> None:
            conn.execute(sa.delete(relay_lanes))

        await self._write(run)

    async def create_send(
        self, robot_id: int, kind: str, content: dict[str, Any], deliveries: Sequence[int], now: int
    ) -> UpstreamSend:
        """Record a send — with its msgUuid, before it is ever attempted — and assign to it the
        deliveries it carries."""
        msg_uuid = "gong-" + uuid.uuid4().hex
        ids = list(deliveries)

        def run(conn: Connection) -> Any:
            row = _insert_send(conn, robot_id, kind, msg_uuid, content, len(ids), now)
            _assign(conn, ids, row.id, now)
            return row

        return _send(await self._write(run))

    async def create_split(
        self,
        robot_id: int,
        contents: Sequence[dict[str, Any]],
        deliveries: Sequence[int],
        now: int,
    ) -> list[UpstreamSend]:
        """Record the numbered parts of one message as sends, in order, each with its own
        msgUuid (``<base>-<k>of<n>``), before any is attempted; the last carries the
        deliveries, so they count as sent only once every part is."""
        base = "gong-" + uuid.uuid4().hex
        ids = list(deliveries)
        total = len(contents)

        def run(conn: Connection) -> Any:
            rows = [
                _insert_send(
                    conn, robot_id, "split", f"{base}-{number}of{total}", content, len(ids), now
                )
                for number, content in enumerate(contents, 1)
            ]
            _assign(conn, ids, rows[-1].id, now)
            return rows

        return [_send(row) for row in await self._write(run)]

    async def begin_attempt(self, send_id: int, upstream: str, now: int) -> None:
        """Record an attempt before it is made, so the pace survives a crash during it."""

        def run(conn: Connection) -> None:
            conn.execute(
                sa.update(relay_sends)
                .where(relay_sends.c.id == send_id)
                .values(attempts=relay_sends.c.attempts + 1, last_attempt_at=now)
            )
            conn.execute(relay_attempts.insert().values(upstream=upstream, at=now))

        await self._write(run)

    async def mark_sent(self, send: UpstreamSend, now: int) -> None:
        state = DeliveryState.DIGESTED if send.kind == "digest" else DeliveryState.SENT

        def run(conn: Connection) -> None:
            conn.execute(
                sa.update(relay_sends)
                .where(relay_sends.c.id == send.id)
                .values(state="sent", sent_at=now, errcode=None, errmsg=None)
            )
            conn.execute(
                sa.update(relay_deliveries)
                .where(relay_deliveries.c.send_id == send.id)
                .values(state=state.value, updated_at=now)
            )

        await self._write(run)

    async def retry_later(self, send_id: int, at: int, errcode: int | None, errmsg: str) -> None:
        def run(conn: Connection) -> None:
            conn.execute(
                sa.update(relay_sends)
                .where(relay_sends.c.id == send_id)
                .values(next_attempt_at=at, errcode=errcode, errmsg=errmsg)
            )

        await self._write(run)

    async def mark_failed(self, send_id: int, errcode: int | None, errmsg: str, now: int) -> None:
        """Dead-letter a send and every delivery it carries, with the reason; a failed part of a
        split message fails the parts still to come (the message could not arrive whole)."""

        def run(conn: Connection) -> None:
            failed = [send_id]
            row = conn.execute(
                sa.select(relay_sends.c.robot_id, relay_sends.c.kind, relay_sends.c.msg_uuid).where(
                    relay_sends.c.id == send_id
                )
            ).first()
            part = _PART.search(row.msg_uuid) if row is not None else None
            if row is not None and row.kind == "split" and part is not None:
                base = row.msg_uuid[: part.start()]
                failed += (
                    conn.execute(
                        sa.select(relay_sends.c.id).where(
                            relay_sends.c.robot_id == row.robot_id,
                            relay_sends.c.state == "pending",
                            relay_sends.c.id > send_id,
                            relay_sends.c.msg_uuid.startswith(base + "-", autoescape=True),
                        )
                    )
                    .scalars()
                    .all()
                )
            conn.execute(
                sa.update(relay_sends)
                .where(relay_sends.c.id.in_(failed))
                .values(state="failed", errcode=errcode, errmsg=errmsg)
            )
            conn.execute(
                sa.update(relay_deliveries)
                .where(relay_deliveries.c.send_id.in_(failed))
                .values(state=DeliveryState.FAILED.value, updated_at=now)
            )

        await self._write(run)

    async def fail_queued(self, robot_id: int, errmsg: str, now: int) -> int:
        """Dead-letter everything the robot still has to deliver (its upstream was removed)."""

        def run(conn: Connection) -> int:
            conn.execute(
                sa.update(relay_sends)
                .where(relay_sends.c.robot_id == robot_id, relay_sends.c.state == "pending")
                .values(state="failed", errcode=None, errmsg=errmsg)
            )
            result = conn.execute(
                sa.update(relay_deliveries)
                .where(relay_deliveries.c.robot_id == robot_id)
                .where(relay_deliveries.c.state == _PENDING)
                .values(state=DeliveryState.FAILED.value, updated_at=now)
            )
            return int(result.rowcount)

        return int(await self._write(run))

    async def pause_upstream(self, key: str, until: int) -> None:
        def run(conn: Connection) -> None:
            insert = _insert_for(conn)
            stmt = insert(relay_upstreams).values(upstream=key, paused_until=until)
            stmt = stmt.on_conflict_do_update(
                index_elements=[relay_upstreams.c.upstream],
                set_={"paused_until": stmt.excluded.paused_until},
            )
            conn.execute(stmt)

        await self._write(run)

    async def prune(self, now: int, keep_ms: int) -> None:
        """Drop pacing records past any window, and finished deliveries and summarised overflow
        messages older than ``keep_ms``."""

        def run(conn: Connection) -> None:
            conn.execute(
                sa.delete(relay_attempts).where(relay_attempts.c.at < now - PACE_HISTORY_MS)
            )
            conn.execute(sa.delete(relay_upstreams).where(relay_upstreams.c.paused_until < now))
            cutoff = now - keep_ms
            conn.execute(
                sa.delete(relay_deliveries).where(
                    relay_deliveries.c.state != _PENDING, relay_deliveries.c.updated_at < cutoff
                )
            )
            conn.execute(
                sa.delete(relay_sends).where(
                    relay_sends.c.state != "pending", relay_sends.c.created_at < cutoff
                )
            )
            conn.execute(
                sa.delete(overflow_messages).where(
                    overflow_messages.c.summary_id.is_not(None),
                    overflow_messages.c.created_at < cutoff,
                )
            )

        await self._write(run)

    # -- what the API shows ----------------------------------------------------------------------

    async def deliveries(
        self,
        robot_id: int,
        *,
        state: DeliveryState | None = None,
        message_id: int | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[Delivery]:
        """The robot's delivery records, newest first, each with the send that carries it."""
        query = sa.select(relay_deliveries).where(relay_deliveries.c.robot_id == robot_id)
        if state is not None:
            query = query.where(relay_deliveries.c.state == state.value)
        if message_id is not None:
            query = query.where(relay_deliveries.c.message_id == message_id)
        if before is not None:
            query = query.where(relay_deliveries.c.id < before)
        query = query.order_by(relay_deliveries.c.id.desc()).limit(limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            send_ids = {r.send_id for r in rows if r.send_id is not None}
            sends: dict[int, UpstreamSend] = {}
            if send_ids:
                found = await conn.execute(
                    sa.select(relay_sends).where(relay_sends.c.id.in_(send_ids))
                )
                sends = {s.id: _send(s) for s in found.all()}
        return [_delivery(r, sends.get(r.send_id)) for r in rows]

    async def totals(self) -> dict[str, int]:
        """How many deliveries of every robot are in each state (every state listed)."""
        query = sa.select(relay_deliveries.c.state, sa.func.count()).group_by(
            relay_deliveries.c.state
        )
        counts = {s.value: 0 for s in DeliveryState}
        async with self.engine.connect() as conn:
            for state, n in (await conn.execute(query)).all():
                counts[state] = int(n)
        return counts

    async def counts(self, robot_id: int) -> dict[str, int]:
        """How many of the robot's deliveries are in each state (every state listed)."""
        query = (
            sa.select(relay_deliveries.c.state, sa.func.count())
            .where(relay_deliveries.c.robot_id == robot_id)
            .group_by(relay_deliveries.c.state)
        )
        counts = {s.value: 0 for s in DeliveryState}
        async with self.engine.connect() as conn:
            for state, n in (await conn.execute(query)).all():
                counts[state] = int(n)
        return counts

    # -- the overflow policy's held messages ---------------------------------------------------

    async def robots_with_held(self) -> list[int]:
        query = (
            sa.select(overflow_messages.c.robot_id)
            .where(overflow_messages.c.summary_id.is_(None))
            .distinct()
        )
        async with self.engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    async def held_messages(self, robot_id: int, limit: int) -> list[HeldMessage]:
        query = (
            sa.select(overflow_messages)
            .where(
                overflow_messages.c.robot_id == robot_id, overflow_messages.c.summary_id.is_(None)
            )
            .order_by(overflow_messages.c.id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            HeldMessage(
                id=r.id,
                robot_id=r.robot_id,
                group_id=r.group_id,
                sender_name=r.sender_name,
                content=json.loads(r.content),
                created_at=r.created_at,
            )
            for r in rows
        ]

    async def held_count(self, robot_id: int) -> int:
        """Messages of the robot waiting for an overflow summary."""
        query = (
            sa.select(sa.func.count())
            .select_from(overflow_messages)
            .where(
                overflow_messages.c.robot_id == robot_id, overflow_messages.c.summary_id.is_(None)
            )
        )
        async with self.engine.connect() as conn:
            return int(await conn.scalar(query) or 0)


def _insert_send(
    conn: Connection,
    robot_id: int,
    kind: str,
    msg_uuid: str,
    content: dict[str, Any],
    items: int,
    now: int,
) -> Any:
    """A new pending send, recorded before it is attempted."""
    return conn.execute(
        relay_sends.insert()
        .values(
            robot_id=robot_id,
            kind=kind,
            msg_uuid=msg_uuid,
            content=json.dumps(content, ensure_ascii=False, separators=(",", ":")),
            items=items,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .returning(*relay_sends.c)
    ).one()


def _assign(conn: Connection, ids: list[int], send_id: int, now: int) -> None:
    """Give these deliveries to the send; they must not have been planned meanwhile."""
    assigned = conn.execute(
        sa.update(relay_deliveries)
        .where(relay_deliveries.c.id.in_(ids), relay_deliveries.c.send_id.is_(None))
        .values(send_id=send_id, updated_at=now)
    )
    if assigned.rowcount != len(ids):
        raise RuntimeError(f"deliveries of send {send_id} changed while it was planned")
