"""What the notifier reads and keeps: new messages, who may hear of them, and its cursor.

The cursor is ``meta.notify_cursor`` (the id of the last message handled), one row that every
instance sharing the database agrees on; the lease is ``leases.notify``. Reads go by primary
key (messages above the cursor) and by group (``user_members``, ``read_states``), never over a
whole table.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gong.domain.models import StoredMessage
from gong.domain.notify import Recipient
from gong.domain.users import Preferences
from gong.storage.history import SqlHistory
from gong.storage.rows import insert_for, message_of
from gong.storage.schema import groups, messages, meta, read_states, user_members, users

__all__ = ["CURSOR", "SqlNotifyStore"]

#: The ``meta`` key of the notifier's cursor.
CURSOR = "notify_cursor"


def _preferences(row: Any) -> Preferences:
    return Preferences(
        language=row.language,
        theme=row.theme,
        notify=bool(row.notify),
        notify_mentions=bool(row.notify_mentions),
    )


class SqlNotifyStore:
    def __init__(self, engine: AsyncEngine, default_language: str = "zh-CN") -> None:
        self.engine = engine
        self.default_language = default_language
        # The lease table is the pruner's; one implementation of taking it.
        self._leases = SqlHistory(engine)

    async def cursor(self) -> int | None:
        async with self.engine.connect() as conn:
            value = await conn.scalar(sa.select(meta.c.value).where(meta.c.key == CURSOR))
        return None if value is None else int(value)

    async def save_cursor(self, message_id: int) -> None:
        async with self.engine.begin() as conn:
            stmt = insert_for(conn)(meta).values(key=CURSOR, value=message_id)
            stmt = stmt.on_conflict_do_update(
                index_elements=[meta.c.key], set_={"value": stmt.excluded.value}
            )
            await conn.execute(stmt)

    async def newest_id(self) -> int:
        async with self.engine.connect() as conn:
            return int(await conn.scalar(sa.select(sa.func.max(messages.c.id))) or 0)

    async def messages_after(self, after: int, limit: int) -> list[StoredMessage]:
        query = (
            sa.select(messages).where(messages.c.id > after).order_by(messages.c.id).limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [message_of(r) for r in rows]

    async def recipients(self, group_ids: set[int]) -> dict[int, list[Recipient]]:
        if not group_ids:
            return {}
        ids = sorted(group_ids)
        state = read_states.alias("state")
        linked = (
            sa.select(
                user_members.c.group_id,
                user_members.c.member_id,
                users,
                state.c.notify_all,
                state.c.muted,
            )
            .join(users, users.c.id == user_members.c.user_id)
            .outerjoin(
                state,
                sa.and_(
                    state.c.user_id == user_members.c.user_id,
                    state.c.group_id == user_members.c.group_id,
                ),
            )
            .where(user_members.c.group_id.in_(ids))
        )
        # Admins see every group: those who chose a group's every message, without a member in it.
        chosen = (
            sa.select(read_states.c.group_id, users, read_states.c.muted)
            .join(users, users.c.id == read_states.c.user_id)
            .where(
                read_states.c.group_id.in_(ids),
                read_states.c.notify_all,
                users.c.is_admin,
                ~sa.exists().where(
                    user_members.c.user_id == read_states.c.user_id,
                    user_members.c.group_id == read_states.c.group_id,
                ),
            )
        )
        found: dict[int, list[Recipient]] = defaultdict(list)
        async with self.engine.connect() as conn:
            for row in (await conn.execute(linked)).all():
                found[int(row.group_id)].append(
                    Recipient(
                        user_id=int(row.id),
                        preferences=_preferences(row),
                        member_ids=frozenset({int(row.member_id)}),
                        notify_all=bool(row.notify_all),
                        muted=bool(row.muted),
                        is_admin=bool(row.is_admin),
                        language=row.language or self.default_language,
                    )
                )
            for row in (await conn.execute(chosen)).all():
                found[int(row.group_id)].append(
                    Recipient(
                        user_id=int(row.id),
                        preferences=_preferences(row),
                        notify_all=True,
                        muted=bool(row.muted),
                        is_admin=True,
                        language=row.language or self.default_language,
                    )
                )
        return dict(found)

    async def group_names(self, group_ids: set[int]) -> dict[int, str]:
        if not group_ids:
            return {}
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(groups.c.id, groups.c.name).where(groups.c.id.in_(sorted(group_ids)))
                )
            ).all()
        return {int(r.id): str(r.name) for r in rows}

    async def take_lease(self, name: str, holder: str, now_ms: int, until_ms: int) -> bool:
        return await self._leases.take_lease(name, holder, now_ms, until_ms)

    async def release_lease(self, name: str, holder: str) -> None:
        await self._leases.release_lease(name, holder)
