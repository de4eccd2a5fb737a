"""Groups and their members, as stored. The rules (names, a member needs a mobile or a userId)
are the domain service's; this checks only what the database enforces."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from gong.domain.errors import Conflict, NotFound
from gong.domain.models import Group, Member
from gong.domain.ports import GroupStore
from gong.i18n import core
from gong.storage.rows import bump_config_version, group_of, member_of
from gong.storage.schema import groups, members

__all__ = ["SqlGroups"]


class SqlGroups:
    """Groups and members (a :class:`~gong.domain.ports.GroupStore`), each read or change in
    its own short transaction; every change bumps the configuration version in it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # -- groups --------------------------------------------------------------------------------

    async def insert_group(self, name: str, now_ms: int) -> Group:
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    groups.insert()
                    .values(name=name, dissolved=False, created_at=now_ms)
                    .returning(*groups.c)
                )
            ).one()
            await bump_config_version(conn)
        return group_of(row)

    async def get_group(self, group_id: int) -> Group:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(groups).where(groups.c.id == group_id))).first()
        if row is None:
            raise NotFound(core.lazy("group %(id)s does not exist", id=group_id))
        return group_of(row)

    async def list_groups(self) -> list[Group]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(groups).order_by(groups.c.id))).all()
        return [group_of(r) for r in rows]

    async def update_group(
        self,
        group_id: int,
        *,
        name: str | None = None,
        dissolved: bool | None = None,
        timezone: str | None = None,
        retention_days: int | None = None,
        retention_count: int | None = None,
    ) -> Group:
        """Change what is given (nothing given: just read the group); ``timezone=""`` clears
        the group's zone (the server's applies), a retention of 0 keeps messages forever."""
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = name
        if dissolved is not None:
            values["dissolved"] = dissolved
        if timezone is not None:
            values["timezone"] = timezone or None
        if retention_days is not None:
            values["retention_days"] = retention_days or None
        if retention_count is not None:
            values["retention_count"] = retention_count or None
        async with self.engine.begin() as conn:
            if values:
                await conn.execute(sa.update(groups).where(groups.c.id == group_id).values(values))
                await bump_config_version(conn)
            row = (await conn.execute(sa.select(groups).where(groups.c.id == group_id))).first()
            if row is None:  # raised inside: the transaction (and its bump) rolls back
                raise NotFound(core.lazy("group %(id)s does not exist", id=group_id))
        return group_of(row)

    # -- members -------------------------------------------------------------------------------

    async def insert_member(
        self, group_id: int, name: str, mobile: str | None, user_id: str | None, now_ms: int
    ) -> Member:
        """Add a member as given.

        Raises:
            NotFound: the group does not exist.
            Conflict: the group has a member with this mobile or userId.
        """
        try:
            async with self.engine.begin() as conn:
                row = (
                    await conn.execute(
                        members.insert()
                        .values(
                            group_id=group_id,
                            name=name,
                            mobile=mobile,
                            user_id=user_id,
                            created_at=now_ms,
                        )
                        .returning(*members.c)
                    )
                ).one()
                await bump_config_version(conn)
        except IntegrityError:
            # The group's foreign key or a unique mobile/userId: a missing group is NotFound.
            await self.get_group(group_id)
            raise Conflict(
                core.lazy(
                    "group %(group)s already has a member with mobile %(mobile)s or userId "
                    "%(user_id)s",
                    group=group_id,
                    mobile=mobile,
                    user_id=user_id,
                )
            ) from None
        return member_of(row)

    async def list_members(self, group_id: int) -> list[Member]:
        """Raises :class:`~gong.domain.errors.NotFound` when the group does not exist."""
        await self.get_group(group_id)
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(members).where(members.c.group_id == group_id).order_by(members.c.id)
                )
            ).all()
        return [member_of(r) for r in rows]

    async def get_member(self, member_id: int) -> Member:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(members).where(members.c.id == member_id))).first()
        if row is None:
            raise NotFound(core.lazy("member %(id)s does not exist", id=member_id))
        return member_of(row)

    async def find_member(self, group_id: int, *, mobile: str) -> Member | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(members).where(
                        members.c.group_id == group_id, members.c.mobile == mobile
                    )
                )
            ).first()
        return None if row is None else member_of(row)

    async def delete_member(self, member_id: int) -> None:
        async with self.engine.begin() as conn:
            result = await conn.execute(sa.delete(members).where(members.c.id == member_id))
            if result.rowcount == 0:
                raise NotFound(core.lazy("member %(id)s does not exist", id=member_id))
            await bump_config_version(conn)


#: mypy checks here that the class is a ``GroupStore``.
_PROTOCOL: type[GroupStore] = SqlGroups
