"""What a user's conversation list shows: their groups, each with the last message, the unread
count and whether something unread mentions them ("@ you"), and what they have read.

Unread counts stop at :data:`UNREAD_CAP` (shown as ``99+``), so a busy group costs a bounded
index scan. "@ you" is found through ``message_mentions`` (written with each message) and the
partial index of ``isAtAll`` messages, never by reading message bodies.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gong.domain.errors import NotFound
from gong.domain.models import Group, Member, StoredMessage
from gong.domain.users import Conversation, User
from gong.i18n import core
from gong.storage.rows import group_of as _group
from gong.storage.rows import insert_for as _insert_for
from gong.storage.rows import member_of as _member
from gong.storage.rows import message_of as _message
from gong.storage.rows import visible_to
from gong.storage.schema import (
    groups,
    members,
    message_mentions,
    messages,
    read_states,
    user_members,
)

__all__ = ["UNREAD_CAP", "Inbox"]

#: Unread counts are counted up to this many (DingTalk shows "99+").
UNREAD_CAP = 100


class Inbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def groups_of(self, user: User) -> list[Group]:
        """The groups a user sees: every group for an admin, else the groups they are linked in."""
        query = sa.select(groups).order_by(groups.c.id)
        if not user.is_admin:
            query = query.where(
                groups.c.id.in_(
                    sa.select(user_members.c.group_id).where(user_members.c.user_id == user.id)
                )
            )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_group(r) for r in rows]

    async def group_ids_of(self, user: User) -> list[int]:
        query = (
            sa.select(groups.c.id)
            if user.is_admin
            else sa.select(user_members.c.group_id).where(user_members.c.user_id == user.id)
        )
        async with self.engine.connect() as conn:
            return [int(v) for v in (await conn.execute(query)).scalars().all()]

    async def visible_group(self, user: User, group_id: int) -> tuple[Group, Member | None]:
        """The group and the user's member in it, if the user may see the group.

        Raises:
            NotFound: no such group, or the user is not in it (the same answer for both, so
                group ids are not revealed).
        """
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(groups).where(groups.c.id == group_id))).first()
            member = await self._member_of(conn, user.id, group_id)
        if row is None or (member is None and not user.is_admin):
            raise NotFound(core.lazy("group %(id)s does not exist", id=group_id))
        return _group(row), member

    async def _member_of(self, conn: AsyncConnection, user_id: int, group_id: int) -> Member | None:
        row = (
            await conn.execute(
                sa.select(members)
                .join(user_members, user_members.c.member_id == members.c.id)
                .where(user_members.c.user_id == user_id, user_members.c.group_id == group_id)
            )
        ).first()
        return None if row is None else _member(row)

    async def conversations(self, user: User) -> list[Conversation]:
        """The user's groups, the one with the newest message first."""
        found = await self.groups_of(user)
        result: list[Conversation] = []
        async with self.engine.connect() as conn:
            states = {
                r.group_id: r
                for r in (
                    await conn.execute(
                        sa.select(read_states).where(read_states.c.user_id == user.id)
                    )
                ).all()
            }
            linked = {
                r.group_id: _member(r)
                for r in (
                    await conn.execute(
                        sa.select(members)
                        .join(user_members, user_members.c.member_id == members.c.id)
                        .where(user_members.c.user_id == user.id)
                    )
                ).all()
            }
            for group in found:
                state = states.get(group.id)
                last_read = int(state.last_read_id) if state else 0
                member = linked.get(group.id)
                mention = await self._mentioned(conn, group.id, member, last_read)
                result.append(
                    Conversation(
                        group=group,
                        last=await self._last(conn, group.id, user.id),
                        unread=await self._unread(conn, group.id, last_read, user.id),
                        mentioned=mention is not None,
                        muted=bool(state.muted) if state else False,
                        last_read_id=last_read,
                        member=member,
                        mention_id=mention,
                        notify_all=bool(state.notify_all) if state else False,
                    )
                )
        result.sort(key=lambda c: (c.last.id if c.last else 0, c.group.id), reverse=True)
        return result

    async def conversation(self, user: User, group: Group, member: Member | None) -> Conversation:
        """One line of the list, for one group the user may see."""
        async with self.engine.connect() as conn:
            state = (
                await conn.execute(
                    sa.select(read_states).where(
                        read_states.c.user_id == user.id, read_states.c.group_id == group.id
                    )
                )
            ).first()
            last_read = int(state.last_read_id) if state else 0
            mention = await self._mentioned(conn, group.id, member, last_read)
            return Conversation(
                group=group,
                last=await self._last(conn, group.id, user.id),
                unread=await self._unread(conn, group.id, last_read, user.id),
                mentioned=mention is not None,
                muted=bool(state.muted) if state else False,
                last_read_id=last_read,
                member=member,
                mention_id=mention,
                notify_all=bool(state.notify_all) if state else False,
            )

    async def _last(
        self, conn: AsyncConnection, group_id: int, user_id: int
    ) -> StoredMessage | None:
        row = (
            await conn.execute(
                sa.select(messages)
                .where(messages.c.group_id == group_id, visible_to(user_id))
                .order_by(messages.c.id.desc())
                .limit(1)
            )
        ).first()
        return None if row is None else _message(row)

    async def _unread(
        self, conn: AsyncConnection, group_id: int, last_read: int, user_id: int
    ) -> int:
        unread = (
            sa.select(messages.c.id)
            .where(messages.c.group_id == group_id, messages.c.id > last_read, visible_to(user_id))
            .limit(UNREAD_CAP)
            .subquery()
        )
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(unread)) or 0)

    async def _mentioned(
        self, conn: AsyncConnection, group_id: int, member: Member | None, last_read: int
    ) -> int | None:
        """The newest unread message that mentions ``member`` or everyone (None: none)."""
        if member is None:
            return None
        direct = await conn.scalar(
            sa.select(sa.func.max(message_mentions.c.message_id)).where(
                message_mentions.c.member_id == member.id,
                message_mentions.c.message_id > last_read,
            )
        )
        everyone = await conn.scalar(
            sa.select(sa.func.max(messages.c.id)).where(
                messages.c.group_id == group_id, messages.c.at_all, messages.c.id > last_read
            )
        )
        found = [int(v) for v in (direct, everyone) if v is not None]
        return max(found) if found else None

    async def mark_read(self, user_id: int, group_id: int, message_id: int) -> None:
        """Everything up to ``message_id`` is read; never moves backwards."""
        async with self.engine.begin() as conn:
            insert = _insert_for(conn)
            stmt = insert(read_states).values(
                user_id=user_id, group_id=group_id, last_read_id=message_id, muted=False
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[read_states.c.user_id, read_states.c.group_id],
                set_={"last_read_id": stmt.excluded.last_read_id},
                where=read_states.c.last_read_id < stmt.excluded.last_read_id,
            )
            await conn.execute(stmt)

    async def set_muted(self, user_id: int, group_id: int, muted: bool) -> None:
        """Do not disturb: the group's unread count is shown quietly; "@ you" still shows."""
        async with self.engine.begin() as conn:
            insert = _insert_for(conn)
            stmt = insert(read_states).values(
                user_id=user_id, group_id=group_id, last_read_id=0, muted=muted
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[read_states.c.user_id, read_states.c.group_id],
                set_={"muted": stmt.excluded.muted},
            )
            await conn.execute(stmt)

    async def set_notify_all(self, user_id: int, group_id: int, notify_all: bool) -> None:
        """Hear of every message of the group (``gong.domain.notify``), or only of @ you."""
        async with self.engine.begin() as conn:
            insert = _insert_for(conn)
            stmt = insert(read_states).values(
                user_id=user_id, group_id=group_id, last_read_id=0, notify_all=notify_all
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[read_states.c.user_id, read_states.c.group_id],
                set_={"notify_all": stmt.excluded.notify_all},
            )
            await conn.execute(stmt)

    async def newest_id(self, group_id: int) -> int:
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                sa.select(sa.func.max(messages.c.id)).where(messages.c.group_id == group_id)
            )
        return int(value or 0)

    async def messages_after(
        self, group_ids: list[int], after: int, limit: int, user_id: int | None = None
    ) -> list[StoredMessage]:
        """Messages of these groups with ids above ``after`` that ``user_id`` may read, oldest
        first (SSE resume)."""
        if not group_ids:
            return []
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(messages)
                    .where(
                        messages.c.group_id.in_(group_ids),
                        messages.c.id > after,
                        visible_to(user_id),
                    )
                    .order_by(messages.c.id.asc())
                    .limit(limit)
                )
            ).all()
        return [_message(r) for r in rows]
