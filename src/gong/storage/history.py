"""What was posted and refused, read back; and the housekeeping that bounds it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gong.domain.errors import NotFound
from gong.domain.models import Refusal, StoredMessage
from gong.domain.ports import History
from gong.protocol.limits import MAX_DEDUPE_WINDOW
from gong.storage.ignored import SqlIgnored
from gong.storage.rows import message_of, refusal_of, visible_to
from gong.storage.schema import message_uuids, messages, quiet_marks, refusals

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
            raise NotFound(f"message {message_id} does not exist")
        return message_of(row)

    async def count_messages(self, group_id: int | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(messages)
        if group_id is not None:
            query = query.where(messages.c.group_id == group_id)
        async with self.engine.connect() as conn:
            return int(await conn.scalar(query) or 0)

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
