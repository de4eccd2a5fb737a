"""What was posted and refused, read back; recall, retention, export; and the housekeeping
that bounds it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gong.domain.errors import Conflict, NotFound
from gong.domain.models import DeliveryState, Group, Refusal, StoredMessage
from gong.domain.ports import History
from gong.i18n import core
from gong.protocol.limits import MAX_DEDUPE_WINDOW
from gong.storage.ignored import SqlIgnored
from gong.storage.rows import group_of, insert_for, message_of, refusal_of, visible_to
from gong.storage.schema import (
    alert_marks,
    groups,
    leases,
    message_mentions,
    message_search,
    message_uuids,
    messages,
    outgoing_calls,
    quiet_marks,
    refusals,
    relay_deliveries,
)

__all__ = ["SqlHistory"]


class SqlHistory:
    """Messages and refusals (a :class:`~gong.domain.ports.History`), each read in its own
    short transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # -- messages ------------------------------------------------------------------------------

    async def list_messages(
        self,
        group_id: int,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = 50,
        viewer: int | None = None,
    ) -> list[StoredMessage]:
        """Messages of a group: newest first below ``before``, or oldest first above ``after``.

        ``viewer`` is the account reading (its own notes are included); None reads only what the
        whole group sees.
        """
        query = sa.select(messages).where(messages.c.group_id == group_id, visible_to(viewer))
        if after is not None:
            query = query.where(messages.c.id > after).order_by(messages.c.id.asc())
        else:
            if before is not None:
                query = query.where(messages.c.id < before)
            query = query.order_by(messages.c.id.desc())
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.limit(limit))).all()
        return [message_of(r) for r in rows]

    async def get_message(self, message_id: int, viewer: int | None = None) -> StoredMessage:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(messages).where(messages.c.id == message_id, visible_to(viewer))
                )
            ).first()
        if row is None:
            raise NotFound(core.lazy("message %(id)s does not exist", id=message_id))
        return message_of(row)

    async def count_messages(self, group_id: int | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(messages)
        if group_id is not None:
            query = query.where(messages.c.group_id == group_id)
        async with self.engine.connect() as conn:
            return int(await conn.scalar(query) or 0)

    # -- recall, retention, export --------------------------------------------------------------

    async def recall_message(self, message_id: int, by: str, at_ms: int) -> StoredMessage:
        async with self.engine.begin() as conn:
            done = await conn.execute(
                sa.update(messages)
                .where(messages.c.id == message_id, messages.c.recalled_at.is_(None))
                .values(
                    content="{}",
                    payload="null",
                    mentions="[]",
                    unresolved="[]",
                    alert=None,
                    recalled_at=at_ms,
                    recalled_by=by[:200],
                )
            )
            if done.rowcount != 1:
                raise Conflict(
                    core.lazy("message %(id)s was recalled already, or is gone", id=message_id)
                )
            await conn.execute(
                sa.delete(message_search).where(message_search.c.message_id == message_id)
            )
            await conn.execute(
                sa.delete(message_mentions).where(message_mentions.c.message_id == message_id)
            )
            # Relay copies keep no content; those not sent yet never will be.
            await conn.execute(
                sa.update(relay_deliveries)
                .where(
                    relay_deliveries.c.message_id == message_id,
                    relay_deliveries.c.state == DeliveryState.PENDING,
                    relay_deliveries.c.send_id.is_(None),
                )
                .values(state=DeliveryState.FAILED, updated_at=at_ms)
            )
            await conn.execute(
                sa.update(relay_deliveries)
                .where(relay_deliveries.c.message_id == message_id)
                .values(content="{}")
            )
            row = (await conn.execute(sa.select(messages).where(messages.c.id == message_id))).one()
        return message_of(row)

    async def groups_with_retention(self) -> list[Group]:
        query = sa.select(groups).where(
            sa.or_(groups.c.retention_days.is_not(None), groups.c.retention_count.is_not(None))
        )
        async with self.engine.connect() as conn:
            return [group_of(r) for r in (await conn.execute(query.order_by(groups.c.id))).all()]

    async def prune_group(
        self, group_id: int, *, older_than: int | None, keep_newest: int | None, batch: int
    ) -> int:
        async with self.engine.begin() as conn:
            # Write first: SQLite then takes its write lock now (waiting its busy timeout for
            # the send path's writer), instead of failing to upgrade a read lock later.
            await conn.execute(
                sa.update(leases).where(leases.c.name == "prune").values(until=leases.c.until)
            )
            floor = await self._keep_floor(conn, group_id, keep_newest)
            gone: list[sa.ColumnElement[bool]] = []
            if older_than is not None:
                gone.append(messages.c.created_at < older_than)
            if floor is not None:
                gone.append(messages.c.id < floor)
            if not gone:
                return 0
            ids = [
                int(i)
                for i in (
                    await conn.execute(
                        sa.select(messages.c.id)
                        .where(messages.c.group_id == group_id, sa.or_(*gone))
                        .order_by(messages.c.id)
                        .limit(batch)
                    )
                ).scalars()
            ]
            if ids:
                await self._delete(conn, ids)
        return len(ids)

    @staticmethod
    async def _keep_floor(conn: AsyncConnection, group_id: int, keep: int | None) -> int | None:
        """The id of the oldest message of the newest ``keep`` (None: nothing to keep count of)."""
        if not keep:
            return None
        found = await conn.scalar(
            sa.select(messages.c.id)
            .where(messages.c.group_id == group_id)
            .order_by(messages.c.id.desc())
            .offset(keep - 1)
            .limit(1)
        )
        return None if found is None else int(found)

    @staticmethod
    async def _delete(conn: AsyncConnection, ids: list[int]) -> None:
        """Delete messages with everything that belongs to them."""
        await conn.execute(sa.delete(message_search).where(message_search.c.message_id.in_(ids)))
        await conn.execute(
            sa.delete(message_mentions).where(message_mentions.c.message_id.in_(ids))
        )
        await conn.execute(sa.delete(alert_marks).where(alert_marks.c.message_id.in_(ids)))
        await conn.execute(sa.delete(quiet_marks).where(quiet_marks.c.message_id.in_(ids)))
        await conn.execute(sa.delete(outgoing_calls).where(outgoing_calls.c.message_id.in_(ids)))
        # Relay records go too, but for copies on their way up right now (the relay finishes
        # them; its own expiry removes them later).
        await conn.execute(
            sa.delete(relay_deliveries).where(
                relay_deliveries.c.message_id.in_(ids),
                sa.or_(
                    relay_deliveries.c.state != DeliveryState.PENDING,
                    relay_deliveries.c.send_id.is_(None),
                ),
            )
        )
        await conn.execute(sa.delete(messages).where(messages.c.id.in_(ids)))

    async def take_lease(self, name: str, holder: str, now_ms: int, until_ms: int) -> bool:
        async with self.engine.begin() as conn:
            insert = insert_for(conn)
            stmt = insert(leases).values(name=name, holder=holder, until=until_ms)
            stmt = stmt.on_conflict_do_update(
                index_elements=[leases.c.name],
                set_={"holder": stmt.excluded.holder, "until": stmt.excluded.until},
                where=sa.or_(leases.c.until < now_ms, leases.c.holder == holder),
            ).returning(leases.c.holder)
            return (await conn.execute(stmt)).first() is not None

    async def release_lease(self, name: str, holder: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.delete(leases).where(leases.c.name == name, leases.c.holder == holder)
            )

    async def export(
        self, group_id: int, since_ms: int | None, batch: int
    ) -> AsyncIterator[StoredMessage]:
        last = 0
        while True:
            query = (
                sa.select(messages)
                .where(messages.c.group_id == group_id, visible_to(None), messages.c.id > last)
                .order_by(messages.c.id)
                .limit(batch)
            )
            if since_ms is not None:
                query = query.where(messages.c.created_at >= since_ms)
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
            for row in rows:
                yield message_of(row)
            if len(rows) < batch:
                return
            last = int(rows[-1].id)

    # -- refusals ------------------------------------------------------------------------------

    async def list_refusals(self, robot_id: int, limit: int = 50) -> list[Refusal]:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(refusals)
                    .where(refusals.c.robot_id == robot_id)
                    .order_by(refusals.c.id.desc())
                    .limit(limit)
                )
            ).all()
        return [refusal_of(r) for r in rows]

    # -- housekeeping --------------------------------------------------------------------------

    async def prune(self, *, keep_refusals: int, now_ms: int) -> None:
        """Drop refusals beyond the newest ``keep_refusals`` per robot, expired msgUuids,
        quiet marks older than any quiet window, and the ignored events of each robot beyond
        the most recently seen :data:`~gong.storage.ignored.KEEP_PER_ROBOT`."""
        newer = sa.alias(refusals, "newer")
        cutoff = (
            sa.select(newer.c.id)
            .where(newer.c.robot_id == refusals.c.robot_id)
            .order_by(newer.c.id.desc())
            .limit(1)
            .offset(keep_refusals - 1)
            .scalar_subquery()
        )
        async with self.engine.begin() as conn:
            await conn.execute(sa.delete(refusals).where(refusals.c.id < cutoff))
            await conn.execute(sa.delete(message_uuids).where(message_uuids.c.expires_at < now_ms))
            oldest = now_ms - MAX_DEDUPE_WINDOW * 1000
            await conn.execute(sa.delete(quiet_marks).where(quiet_marks.c.posted_at < oldest))
        await SqlIgnored(self.engine).prune()


#: mypy checks here that the class is a ``History``.
_PROTOCOL: type[History] = SqlHistory
