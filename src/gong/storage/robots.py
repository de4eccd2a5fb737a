"""Robots, their call counts and the views the send path caches, as stored.

The rules (security settings, a kind's settings, tokens and secrets, relay loops, no robot in a
dissolved group) are the domain service's; this checks only what the database enforces.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gong.domain.errors import Conflict, NotFound
from gong.domain.models import IgnoredEvent, Member, Robot, RobotView
from gong.domain.ports import RobotStore
from gong.i18n import core
from gong.storage.ignored import SqlIgnored
from gong.storage.rows import (
    bump_config_version,
    group_of,
    member_of,
    read_config_version,
    robot_of,
)
from gong.storage.schema import groups, members, robot_stats, robots

__all__ = ["SqlRobots"]


def _settings(robot: Robot) -> dict[str, Any]:
    return {"settings": robot.stored_settings}


#: The columns that store each savable field of :class:`~gong.domain.models.Robot`.
_COLUMNS: dict[str, Callable[[Robot], dict[str, Any]]] = {
    "name": lambda r: {"name": r.name},
    "access_token": lambda r: {"access_token": r.access_token},
    "secret": lambda r: {"secret": r.secret},
    "keywords": lambda r: {"keywords": list(r.keywords)},
    "ip_allow": lambda r: {"ip_allow": list(r.ip_allow)},
    "enabled": lambda r: {"enabled": r.enabled},
    "rate_limit": lambda r: {
        "rate_limit": r.rate_limit.limit,
        "rate_window": r.rate_limit.window_s,
        "rate_block": r.rate_limit.block_s,
    },
    "overflow": lambda r: {"overflow": str(r.overflow)},
    "avatar_url": lambda r: {"avatar_url": r.avatar_url},
    # One JSON column holds the kind's settings, the upstream, the outgoing target, the quiet
    # window and the mention labels.
    "settings": _settings,
    "upstream": _settings,
    "outgoing": _settings,
    "dedupe_window_s": _settings,
    "mention_labels": _settings,
    "updated_at": lambda r: {"updated_at": r.updated_at},
}
#: The fields a new robot's row is written from (with its group, kind and creation time).
_STORED = tuple(
    name
    for name in _COLUMNS
    if name not in ("upstream", "outgoing", "dedupe_window_s", "mention_labels")
)


def _values(robot: Robot, fields: Sequence[str]) -> dict[str, Any]:
    """The column values of these fields of ``robot``, and ``updated_at``."""
    values: dict[str, Any] = {"updated_at": robot.updated_at}
    for name in fields:
        column = _COLUMNS.get(name)
        if column is None:
            raise ValueError(f"robot field {name!r} cannot be saved")
        values.update(column(robot))
    return values


class SqlRobots:
    """Robots (a :class:`~gong.domain.ports.RobotStore`), each read or change in its own short
    transaction; every change bumps the configuration version in it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def config_version(self) -> int:
        return await read_config_version(self.engine)

    async def _refused(self, robot: Robot) -> NotFound | Conflict:
        """Why the database refused to insert ``robot``: its group is missing, or its access
        token is taken (the only other constraint a robot row can break)."""
        async with self.engine.connect() as conn:
            group = await conn.scalar(sa.select(groups.c.id).where(groups.c.id == robot.group_id))
        if group is None:
            return NotFound(core.lazy("group %(id)s does not exist", id=robot.group_id))
        return Conflict(core.lazy("another robot has this access token"))

    async def insert_robot(self, robot: Robot) -> Robot:
        """Store a new robot and its call counts (its ``id`` is ignored and assigned).

        Raises:
            NotFound: the group does not exist.
            Conflict: another robot has this access token.
        """
        values = _values(robot, _STORED)
        try:
            async with self.engine.begin() as conn:
                row = (
                    await conn.execute(
                        robots.insert()
                        .values(
                            group_id=robot.group_id,
                            kind=str(robot.kind),
                            created_at=robot.created_at,
                            **values,
                        )
                        .returning(*robots.c)
                    )
                ).one()
                await conn.execute(
                    robot_stats.insert().values(robot_id=row.id, accepted=0, refused=0)
                )
                await bump_config_version(conn)
        except IntegrityError:
            raise await self._refused(robot) from None
        return robot_of(row)

    async def get_robot(self, robot_id: int) -> Robot:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(robots).where(robots.c.id == robot_id))).first()
        if row is None:
            raise NotFound(core.lazy("robot %(id)s does not exist", id=robot_id))
        return robot_of(row)

    async def robot_by_token(self, access_token: str) -> Robot | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(sa.select(robots).where(robots.c.access_token == access_token))
            ).first()
        return None if row is None else robot_of(row)

    async def robot_by_secret(self, secret: str) -> Robot | None:
        """The robot whose signing secret this is (for the hint when it is sent as a token)."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(robots).where(robots.c.secret == secret))).first()
        return None if row is None else robot_of(row)

    async def list_robots(self, group_id: int | None = None) -> list[Robot]:
        query = sa.select(robots).order_by(robots.c.id)
        if group_id is not None:
            query = query.where(robots.c.group_id == group_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [robot_of(r) for r in rows]

    async def save_robot(self, robot: Robot, fields: Sequence[str]) -> Robot:
        """Write the named fields of ``robot`` and its ``updated_at``, nothing else: a change
        another process made meanwhile to other fields is kept. Field names are
        :class:`~gong.domain.models.Robot`'s; ``settings``, ``upstream``, ``outgoing``,
        ``dedupe_window_s`` and ``mention_labels`` share one column, so naming any of them
        writes them all.

        Raises:
            NotFound: the robot was deleted meanwhile.
            Conflict: another robot has this access token.
            ValueError: a field that cannot change (``id``, ``group_id``, ``kind``, …).
        """
        values = _values(robot, fields)
        try:
            async with self.engine.begin() as conn:
                row = (
                    await conn.execute(
                        sa.update(robots)
                        .where(robots.c.id == robot.id)
                        .values(values)
                        .returning(*robots.c)
                    )
                ).first()
                if row is None:
                    raise NotFound(core.lazy("robot %(id)s does not exist", id=robot.id))
                await bump_config_version(conn)
        except IntegrityError:  # the access token is the only unique column it can write
            raise Conflict(core.lazy("another robot has this access token")) from None
        return robot_of(row)

    async def delete_robot(self, robot_id: int) -> None:
        async with self.engine.begin() as conn:
            result = await conn.execute(sa.delete(robots).where(robots.c.id == robot_id))
            if result.rowcount == 0:
                raise NotFound(core.lazy("robot %(id)s does not exist", id=robot_id))
            await conn.execute(sa.delete(robot_stats).where(robot_stats.c.robot_id == robot_id))
            await bump_config_version(conn)

    async def robot_kinds(self) -> dict[str, int]:
        """How many robots there are of each kind."""
        query = sa.select(robots.c.kind, sa.func.count()).group_by(robots.c.kind)
        async with self.engine.connect() as conn:
            return {kind: int(n) for kind, n in (await conn.execute(query)).all()}

    async def robot_stats(self, robot_id: int) -> dict[str, int]:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(sa.select(robot_stats).where(robot_stats.c.robot_id == robot_id))
            ).first()
        return {"accepted": row.accepted if row else 0, "refused": row.refused if row else 0}

    async def ignored_events(self, robot_id: int) -> list[IgnoredEvent]:
        return await SqlIgnored(self.engine).list(robot_id)

    async def forget_ignored(self, robot_id: int, events: Sequence[str]) -> None:
        await SqlIgnored(self.engine).forget(robot_id, events)

    async def robot_views(self, access_tokens: Sequence[str]) -> dict[str, RobotView]:
        """The views of the robots with these tokens (unknown tokens are left out), loaded with
        a few queries however many there are."""
        found: dict[str, RobotView] = {}
        wanted = list(dict.fromkeys(access_tokens))
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = (
                    await conn.execute(sa.select(robots).where(robots.c.access_token.in_(chunk)))
                ).all()
                found.update(await _views(conn, rows))
        return found

    async def all_robot_views(self, limit: int) -> dict[str, RobotView]:
        """The views of (at most ``limit``) robots, newest first: three queries in all."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(sa.select(robots).order_by(robots.c.id.desc()).limit(limit))
            ).all()
            return await _views(conn, rows)


#: mypy checks here that the class is a ``RobotStore``.
_PROTOCOL: type[RobotStore] = SqlRobots


async def _views(conn: AsyncConnection, robot_rows: Sequence[Any]) -> dict[str, RobotView]:
    """Views of these robots: their groups and members read in two queries, each group's member
    maps built once and shared by its robots' views. Yields to the event loop every 1 000
    robots, so building many views never stalls requests for long."""
    group_ids = sorted({r.group_id for r in robot_rows})
    if not group_ids:
        return {}
    all_groups = len(group_ids) > 500
    group_query = sa.select(groups)
    member_query = sa.select(members)
    if not all_groups:
        group_query = group_query.where(groups.c.id.in_(group_ids))
        member_query = member_query.where(members.c.group_id.in_(group_ids))
    by_group = {g.id: group_of(g) for g in (await conn.execute(group_query)).all()}
    by_mobile: dict[int, dict[str, Member]] = {g: {} for g in group_ids}
    by_user_id: dict[int, dict[str, Member]] = {g: {} for g in group_ids}
    for row in (await conn.execute(member_query)).all():
        if row.group_id not in by_mobile:
            continue
        member = member_of(row)
        if member.mobile:
            by_mobile[row.group_id][member.mobile] = member
        if member.user_id:
            by_user_id[row.group_id][member.user_id] = member
    views: dict[str, RobotView] = {}
    for index, row in enumerate(robot_rows):
        if index and index % 1000 == 0:
            await asyncio.sleep(0)
        robot = robot_of(row)
        views[robot.access_token] = RobotView(
            robot=robot,
            group=by_group[robot.group_id],
            security=robot.security,
            members_by_mobile=by_mobile[robot.group_id],
            members_by_user_id=by_user_id[robot.group_id],
        )
    return views
