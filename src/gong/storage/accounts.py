"""Web app accounts: users, their links to group members, and the app's own secrets.

A user is linked to at most one member per group, and a member to at most one user. Linking a
user to a member starts the user's read state of that group at its newest message, so a new
account does not open on years of unread history.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gong.clock import Clock
from gong.domain.errors import Conflict, NotFound
from gong.domain.models import Member
from gong.domain.users import Preferences, User, clean_username
from gong.i18n import core
from gong.storage.rows import insert_for as _insert_for
from gong.storage.rows import member_of as _member
from gong.storage.schema import app_secrets, members, messages, read_states, user_members, users

__all__ = ["Accounts"]


def _user(row: Any) -> User:
    return User(
        id=row.id,
        username=row.username,
        is_admin=bool(row.is_admin),
        created_at=row.created_at,
        last_login_at=row.last_login_at,
        password_hash=row.password_hash,
        preferences=Preferences(
            language=row.language,
            theme=row.theme,
            notify=bool(row.notify),
            notify_mentions=bool(row.notify_mentions),
        ),
    )


class Accounts:
    """Reads and writes of users and their member links, each in a short transaction."""

    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    # -- users ---------------------------------------------------------------------------------

    async def create_user(
        self, username: str, password_hash: str, *, is_admin: bool = False
    ) -> User:
        """Create a user (the password already hashed).

        Raises:
            Invalid: the username breaks the rules.
            Conflict: the username is taken.
        """
        name = clean_username(username)
        now = self.clock.now_ms()
        try:
            async with self.engine.begin() as conn:
                row = (
                    await conn.execute(
                        users.insert()
                        .values(
                            username=name,
                            password_hash=password_hash,
                            is_admin=is_admin,
                            created_at=now,
                            updated_at=now,
                        )
                        .returning(*users.c)
                    )
                ).one()
        except IntegrityError:
            raise Conflict(core.lazy("the username %(name)r is taken", name=name)) from None
        return _user(row)

    async def get_user(self, user_id: int) -> User:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(users).where(users.c.id == user_id))).first()
        if row is None:
            raise NotFound(core.lazy("user %(id)s does not exist", id=user_id))
        return _user(row)

    async def find_user(self, username: str) -> User | None:
        name = (username or "").strip().lower()
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(users).where(users.c.username == name))).first()
        return None if row is None else _user(row)

    async def list_users(self) -> list[User]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(users).order_by(users.c.id))).all()
        return [_user(r) for r in rows]

    async def user_count(self) -> int:
        async with self.engine.connect() as conn:
            return int(await conn.scalar(sa.select(sa.func.count()).select_from(users)) or 0)

    async def update_user(
        self, user_id: int, *, password_hash: str | None = None, is_admin: bool | None = None
    ) -> User:
        values: dict[str, Any] = {"updated_at": self.clock.now_ms()}
        if password_hash is not None:
            values["password_hash"] = password_hash
        if is_admin is not None:
            values["is_admin"] = is_admin
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    sa.update(users).where(users.c.id == user_id).values(values).returning(*users.c)
                )
            ).first()
        if row is None:
            raise NotFound(core.lazy("user %(id)s does not exist", id=user_id))
        return _user(row)

    async def update_preferences(self, user_id: int, preferences: Preferences) -> User:
        """Store what a person chose (checked by :func:`gong.domain.users.clean_preferences`)."""
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    sa.update(users)
                    .where(users.c.id == user_id)
                    .values(
                        language=preferences.language,
                        theme=preferences.theme,
                        notify=preferences.notify,
                        notify_mentions=preferences.notify_mentions,
                        updated_at=self.clock.now_ms(),
                    )
                    .returning(*users.c)
                )
            ).first()
        if row is None:
            raise NotFound(core.lazy("user %(id)s does not exist", id=user_id))
        return _user(row)

    async def record_login(self, user_id: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(users)
                .where(users.c.id == user_id)
                .values(last_login_at=self.clock.now_ms())
            )

    async def delete_user(self, user_id: int) -> None:
        async with self.engine.begin() as conn:
            result = await conn.execute(sa.delete(users).where(users.c.id == user_id))
        if result.rowcount == 0:
            raise NotFound(core.lazy("user %(id)s does not exist", id=user_id))

    # -- links to members ----------------------------------------------------------------------

    async def link(self, user_id: int, member_id: int) -> Member:
        """Link a user to a group member; the user then sees that group and its "@ you" marks.

        Raises:
            NotFound: no such user or member.
            Conflict: the member is linked to someone else, or the user to another member of
                that group.
        """
        await self.get_user(user_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(members).where(members.c.id == member_id))).first()
        if row is None:
            raise NotFound(core.lazy("member %(id)s does not exist", id=member_id))
        member = _member(row)
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    user_members.insert().values(
                        user_id=user_id, member_id=member_id, group_id=member.group_id
                    )
                )
                await self._start_reading(conn, user_id, member.group_id)
        except IntegrityError:
            raise Conflict(
                core.lazy(
                    "member %(member)s is already linked, or user %(user)s already has a member "
                    "in group %(group)s",
                    member=member_id,
                    user=user_id,
                    group=member.group_id,
                )
            ) from None
        return member

    async def _start_reading(self, conn: AsyncConnection, user_id: int, group_id: int) -> None:
        newest = await conn.scalar(
            sa.select(sa.func.max(messages.c.id)).where(messages.c.group_id == group_id)
        )
        insert = _insert_for(conn)
        stmt = insert(read_states).values(
            user_id=user_id, group_id=group_id, last_read_id=int(newest or 0), muted=False
        )
        await conn.execute(stmt.on_conflict_do_nothing())

    async def unlink(self, member_id: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(sa.delete(user_members).where(user_members.c.member_id == member_id))

    async def members_of(self, user_id: int) -> list[Member]:
        """The members a user is linked to, one per group."""
        query = (
            sa.select(members)
            .join(user_members, user_members.c.member_id == members.c.id)
            .where(user_members.c.user_id == user_id)
            .order_by(members.c.group_id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_member(r) for r in rows]

    async def users_of_group(self, group_id: int) -> dict[int, User]:
        """Member id → the user linked to that member, for one group."""
        query = (
            sa.select(users, user_members.c.member_id)
            .join(user_members, user_members.c.user_id == users.c.id)
            .where(user_members.c.group_id == group_id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {r.member_id: _user(r) for r in rows}

    # -- the app's own secrets -----------------------------------------------------------------

    async def secret(
        self, name: str, make: Callable[[], str] = lambda: secrets.token_hex(32)
    ) -> str:
        """The secret called ``name``, created once; every instance sharing the database agrees."""
        async with self.engine.begin() as conn:
            insert = _insert_for(conn)
            await conn.execute(
                insert(app_secrets)
                .values(name=name, value=make(), created_at=self.clock.now_ms())
                .on_conflict_do_nothing()
            )
            value = await conn.scalar(
                sa.select(app_secrets.c.value).where(app_secrets.c.name == name)
            )
        return str(value)
