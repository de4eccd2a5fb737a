"""Alert marks and quiet marks: what lets a message change after it was posted.

- ``alert_marks``: one row per alert an alert-group message showed, with whether it still fires.
  A resolved notification (matched by the hub, :meth:`SqlAlerts.firing_alerts`) turns marks to
  resolved in the writer's transaction, and the messages that showed them get their new
  :class:`~gong.domain.alerts.AlertState` (:func:`resolve_marks`).
- ``quiet_marks``: per robot and content, the message a quiet window counts repeats on
  (:func:`quiet_message`, :func:`remember_quiet`, :func:`count_repeat`).

The write functions run on the writer's connection, inside its one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gong.domain.alerts import AlertFacts, AlertState
from gong.domain.ports import FiringMark, MessageUpdate
from gong.storage.rows import insert_for
from gong.storage.schema import alert_marks, messages, quiet_marks

__all__ = [
    "SqlAlerts",
    "count_repeat",
    "quiet_message",
    "remember_quiet",
    "resolve_marks",
    "write_marks",
]

#: Most firing marks matched for one notification (Alertmanager caps groups well below).
MAX_MARKS = 10_000


class SqlAlerts:
    """Reads of alert marks (the writes are in the writer's transaction)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def firing_alerts(
        self,
        robot_id: int,
        *,
        fingerprints: Sequence[str] = (),
        group_key: str | None = None,
    ) -> list[FiringMark]:
        query = sa.select(
            alert_marks.c.id,
            alert_marks.c.message_id,
            alert_marks.c.fingerprint,
            alert_marks.c.starts_at,
        ).where(alert_marks.c.robot_id == robot_id, alert_marks.c.firing.is_(True))
        if fingerprints:
            query = query.where(alert_marks.c.fingerprint.in_(sorted(set(fingerprints))))
        elif group_key is not None:
            query = query.where(alert_marks.c.group_key == group_key)
        else:
            return []
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.order_by(alert_marks.c.id).limit(MAX_MARKS))).all()
        return [FiringMark(r.id, r.message_id, r.fingerprint, r.starts_at) for r in rows]


def write_marks(
    conn: Connection,
    robot_id: int,
    message_id: int,
    facts: AlertFacts,
    group_key: str | None,
    now: int,
) -> None:
    """Remember the alerts a new message shows (resolved ones as resolved at their end)."""
    conn.execute(
        alert_marks.insert(),
        [
            {
                "robot_id": robot_id,
                "message_id": message_id,
                "fingerprint": item.fingerprint[:64],
                "group_key": group_key,
                "firing": item.firing,
                "starts_at": item.starts_at,
                "resolved_at": None if item.firing else (item.ends_at or now),
            }
            for item in facts.items
        ],
    )


def resolve_marks(conn: Connection, resolves: Iterable[tuple[int, int]]) -> list[MessageUpdate]:
    """Mark these firing alerts resolved; the messages that showed them, with their new state."""
    changed: set[int] = set()
    for mark_id, at in resolves:
        row = conn.execute(
            sa.update(alert_marks)
            .where(alert_marks.c.id == mark_id, alert_marks.c.firing.is_(True))
            .values(firing=False, resolved_at=at)
            .returning(alert_marks.c.message_id)
        ).first()
        if row is not None:
            changed.add(int(row.message_id))
    if not changed:
        return []
    counts = conn.execute(
        sa.select(
            alert_marks.c.message_id,
            sa.func.sum(sa.case((alert_marks.c.firing.is_(True), 1), else_=0)).label("firing"),
            sa.func.count().label("total"),
            sa.func.max(alert_marks.c.resolved_at).label("resolved_at"),
            sa.func.min(alert_marks.c.starts_at).label("fired_at"),
        )
        .where(alert_marks.c.message_id.in_(sorted(changed)))
        .group_by(alert_marks.c.message_id)
    ).all()
    updates = []
    for row in counts:
        firing = int(row.firing or 0)
        state = AlertState.of(
            firing, int(row.total) - firing, row.resolved_at, row.fired_at
        ).to_json()
        stored = conn.execute(
            sa.update(messages)
            .where(messages.c.id == row.message_id)
            .values(alert=orjson.dumps(state).decode())
            .returning(messages.c.group_id, messages.c.repeat, messages.c.visible_to_user_id)
        ).first()
        if stored is not None:  # the message may have been deleted meanwhile
            updates.append(
                MessageUpdate(
                    int(row.message_id),
                    stored.group_id,
                    state,
                    stored.repeat,
                    stored.visible_to_user_id,
                )
            )
    return updates


def quiet_message(conn: Connection, robot_id: int, key: str, since: int) -> int | None:
    """The robot's message with this content posted at or after ``since``, if any."""
    row = conn.execute(
        sa.select(quiet_marks.c.message_id, quiet_marks.c.posted_at).where(
            quiet_marks.c.robot_id == robot_id, quiet_marks.c.content_key == key
        )
    ).first()
    if row is None or row.posted_at < since:
        return None
    return int(row.message_id)


def remember_quiet(conn: Connection, robot_id: int, key: str, message_id: int, at: int) -> None:
    """This message now opens the robot's quiet window for its content."""
    insert = insert_for(conn)
    stmt = insert(quiet_marks).values(
        robot_id=robot_id, content_key=key, message_id=message_id, posted_at=at
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[quiet_marks.c.robot_id, quiet_marks.c.content_key],
            set_={"message_id": stmt.excluded.message_id, "posted_at": stmt.excluded.posted_at},
        )
    )


def count_repeat(conn: Connection, message_id: int) -> MessageUpdate | None:
    """One more repeat on the message; its new state, or None if it is gone."""
    row = conn.execute(
        sa.update(messages)
        .where(messages.c.id == message_id)
        .values(repeat=messages.c.repeat + 1)
        .returning(
            messages.c.group_id,
            messages.c.alert,
            messages.c.repeat,
            messages.c.visible_to_user_id,
        )
    ).first()
    if row is None:
        return None
    alert = orjson.loads(row.alert) if row.alert else None
    return MessageUpdate(message_id, row.group_id, alert, row.repeat, row.visible_to_user_id)
