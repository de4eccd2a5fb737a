"""Ignored events: what each integration robot received and did not show, counted per event
and reason.

Recorded through the group-commit writer (:func:`write_ignored`, awaited before the sender is
answered) and read by the administration (:class:`SqlIgnored`). Rows are kept per robot up to
:data:`KEEP_PER_ROBOT` (the most recently seen win; :meth:`SqlIgnored.prune`) and go with their
robot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gong.domain.models import IgnoredEvent, IgnoreReason
from gong.storage.rows import insert_for
from gong.storage.schema import ignored_events

__all__ = ["KEEP_PER_ROBOT", "IgnoredWrite", "SqlIgnored", "write_ignored"]

#: The most ignored-event rows kept per robot (event names come from the sender).
KEEP_PER_ROBOT = 200
_EVENT = 100
_DETAIL = 300


@dataclass(slots=True)
class IgnoredWrite:
    robot_id: int
    event: str
    reason: IgnoreReason
    detail: str
    at_ms: int


def write_ignored(conn: Connection, items: Sequence[IgnoredWrite]) -> list[None]:
    """Count each item on its (robot, event, reason) row, creating the row when new."""
    merged: dict[tuple[int, str, str], dict[str, object]] = {}
    for item in items:
        key = (item.robot_id, item.event[:_EVENT], item.reason.value)
        row = merged.get(key)
        if row is None:
            merged[key] = {
                "robot_id": key[0],
                "event": key[1],
                "reason": key[2],
                "count": 1,
                "first_at": item.at_ms,
                "last_at": item.at_ms,
                "detail": item.detail[:_DETAIL],
            }
        else:
            row["count"] = int(str(row["count"])) + 1
            row["last_at"], row["detail"] = item.at_ms, item.detail[:_DETAIL]
    insert = insert_for(conn)
    for row in merged.values():
        stmt = insert(ignored_events).values(**row)
        stmt = stmt.on_conflict_do_update(
            index_elements=[
                ignored_events.c.robot_id,
                ignored_events.c.event,
                ignored_events.c.reason,
            ],
            set_={
                "count": ignored_events.c.count + stmt.excluded.count,
                "last_at": stmt.excluded.last_at,
                "detail": stmt.excluded.detail,
            },
        )
        conn.execute(stmt)
    return [None] * len(items)


def _of(row: sa.Row[tuple[object, ...]]) -> IgnoredEvent:
    m = row._mapping
    return IgnoredEvent(
        event=m["event"],
        reason=IgnoreReason(m["reason"]),
        count=int(m["count"]),
        first_at=int(m["first_at"]),
        last_at=int(m["last_at"]),
        detail=m["detail"],
    )


class SqlIgnored:
    """Reads and housekeeping of the ignored-events record."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def list(self, robot_id: int) -> list[IgnoredEvent]:
        """The robot's ignored events, the most recently seen first."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(ignored_events)
                    .where(ignored_events.c.robot_id == robot_id)
                    .order_by(ignored_events.c.last_at.desc(), ignored_events.c.event)
                    .limit(KEEP_PER_ROBOT)
                )
            ).all()
        return [_of(r) for r in rows]

    async def forget(self, robot_id: int, events: Sequence[str]) -> None:
        """Drop the rows of ``events`` (they are shown now)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.delete(ignored_events).where(
                    ignored_events.c.robot_id == robot_id, ignored_events.c.event.in_(events)
                )
            )

    async def prune(self) -> None:
        """Keep the :data:`KEEP_PER_ROBOT` most recently seen rows of each robot."""
        newer = sa.alias(ignored_events, "newer")
        cutoff = (
            sa.select(newer.c.last_at)
            .where(newer.c.robot_id == ignored_events.c.robot_id)
            .order_by(newer.c.last_at.desc())
            .limit(1)
            .offset(KEEP_PER_ROBOT - 1)
            .scalar_subquery()
        )
        async with self.engine.begin() as conn:
            await conn.execute(sa.delete(ignored_events).where(ignored_events.c.last_at < cutoff))
