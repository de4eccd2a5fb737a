"""A rehearsal of changes: the real administration services over stores that read through to
the database and keep every write in memory.

``gong apply`` first makes all its changes here, so the services check every rule (names,
security, integration settings, where an upstream or outgoing URL may point, relay loops) and
every fault is found before anything is written; what the rehearsal stores is what the database
would store, so it also tells which changes are real. Only then are the same changes made for
real. The stores emulate what the database itself enforces: a mobile or userId is unique in its
group.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Sequence
from typing import Any

import orjson

from gong.administration import Administration
from gong.domain.errors import Conflict, NotFound
from gong.domain.groups import Groups
from gong.domain.models import Group, IgnoredEvent, Member, Robot, RobotView
from gong.domain.ports import GroupStore, RobotStore
from gong.domain.robot_admin import Robots
from gong.i18n import core

__all__ = ["RehearsalGroups", "RehearsalRobots", "rehearse"]


async def _nobody(robot_id: int | None) -> None:
    """A rehearsal has no cache to tell."""


class _Ids:
    """Ids of records made in the rehearsal: negative, so they never meet a stored one."""

    def __init__(self) -> None:
        self.last = 0

    def next(self) -> int:
        self.last -= 1
        return self.last


class RehearsalGroups:
    """A :class:`~gong.domain.ports.GroupStore` that reads ``real`` and writes to memory."""

    def __init__(self, real: GroupStore) -> None:
        self.real = real
        self._ids = _Ids()
        self._groups: dict[int, Group] = {}
        self._members: dict[int, Member] = {}
        self._removed: set[int] = set()

    async def insert_group(self, name: str, now_ms: int) -> Group:
        group = Group(id=self._ids.next(), name=name, dissolved=False, created_at=now_ms)
        self._groups[group.id] = group
        return group

    async def get_group(self, group_id: int) -> Group:
        if group_id in self._groups:
            return self._groups[group_id]
        if group_id < 0:
            raise NotFound(core.lazy("group %(id)s does not exist", id=group_id))
        return await self.real.get_group(group_id)

    async def list_groups(self) -> list[Group]:
        stored = [self._groups.get(g.id, g) for g in await self.real.list_groups()]
        return stored + [g for g in self._groups.values() if g.id < 0]

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
        group = await self.get_group(group_id)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name
        if dissolved is not None:
            changes["dissolved"] = dissolved
        if timezone is not None:
            changes["timezone"] = timezone or None
        if retention_days is not None:
            changes["retention_days"] = retention_days or None
        if retention_count is not None:
            changes["retention_count"] = retention_count or None
        group = dataclasses.replace(group, **changes)
        self._groups[group_id] = group
        return group

    async def insert_member(
        self, group_id: int, name: str, mobile: str | None, user_id: str | None, now_ms: int
    ) -> Member:
        group = await self.get_group(group_id)
        for member in await self.list_members(group_id):
            if (mobile and member.mobile == mobile) or (user_id and member.user_id == user_id):
                raise Conflict(
                    core.lazy(
                        "group %(group)s already has a member with mobile %(mobile)s or userId "
                        "%(user_id)s",
                        group=group.name,
                        mobile=mobile,
                        user_id=user_id,
                    )
                )
        member = Member(self._ids.next(), group_id, name, mobile, user_id, now_ms)
        self._members[member.id] = member
        return member

    async def list_members(self, group_id: int) -> list[Member]:
        await self.get_group(group_id)
        stored = [] if group_id < 0 else await self.real.list_members(group_id)
        kept = [m for m in stored if m.id not in self._removed]
        return kept + [m for m in self._members.values() if m.group_id == group_id]

    async def get_member(self, member_id: int) -> Member:
        if member_id in self._members:
            return self._members[member_id]
        if member_id in self._removed or member_id < 0:
            raise NotFound(core.lazy("member %(id)s does not exist", id=member_id))
        return await self.real.get_member(member_id)

    async def find_member(self, group_id: int, *, mobile: str) -> Member | None:
        return next((m for m in await self.list_members(group_id) if m.mobile == mobile), None)

    async def delete_member(self, member_id: int) -> None:
        await self.get_member(member_id)
        if self._members.pop(member_id, None) is None:
            self._removed.add(member_id)


def _as_stored(robot: Robot) -> Robot:
    """``robot`` as the database gives it back: its settings column written as JSON and read
    again (what is left out or empty there reads as the default)."""
    stored = orjson.loads(orjson.dumps(robot.stored_settings))
    return dataclasses.replace(
        robot,
        keywords=tuple(robot.keywords),
        ip_allow=tuple(robot.ip_allow),
        **Robot.split_settings(stored),
    )


class RehearsalRobots:
    """A :class:`~gong.domain.ports.RobotStore` that reads ``real`` and writes to memory."""

    def __init__(self, real: RobotStore) -> None:
        self.real = real
        self._ids = _Ids()
        self._robots: dict[int, Robot] = {}
        self._deleted: set[int] = set()

    async def insert_robot(self, robot: Robot) -> Robot:
        robot = _as_stored(dataclasses.replace(robot, id=self._ids.next()))
        self._robots[robot.id] = robot
        return robot

    async def get_robot(self, robot_id: int) -> Robot:
        if robot_id in self._robots:
            return self._robots[robot_id]
        if robot_id in self._deleted or robot_id < 0:
            raise NotFound(core.lazy("robot %(id)s does not exist", id=robot_id))
        return await self.real.get_robot(robot_id)

    async def robot_by_token(self, access_token: str) -> Robot | None:
        for robot in self._robots.values():
            if hmac.compare_digest(robot.access_token.encode(), access_token.encode()):
                return robot
        stored = await self.real.robot_by_token(access_token)
        if stored is None or stored.id in self._deleted or stored.id in self._robots:
            return None  # gone, or its token changed here (the loop above saw the new one)
        return stored

    async def list_robots(self, group_id: int | None = None) -> list[Robot]:
        stored = (
            [] if group_id is not None and group_id < 0 else await self.real.list_robots(group_id)
        )
        kept = [self._robots.get(r.id, r) for r in stored if r.id not in self._deleted]
        made = [r for r in self._robots.values() if r.id < 0 and group_id in (None, r.group_id)]
        return kept + made

    async def save_robot(self, robot: Robot, fields: Sequence[str]) -> Robot:
        await self.get_robot(robot.id)
        robot = _as_stored(robot)
        self._robots[robot.id] = robot
        return robot

    async def delete_robot(self, robot_id: int) -> None:
        await self.get_robot(robot_id)
        self._robots.pop(robot_id, None)
        self._deleted.add(robot_id)

    async def robot_kinds(self) -> dict[str, int]:
        return await self.real.robot_kinds()

    async def robot_stats(self, robot_id: int) -> dict[str, int]:
        return {} if robot_id < 0 else await self.real.robot_stats(robot_id)

    async def robot_views(self, access_tokens: Sequence[str]) -> dict[str, RobotView]:
        return await self.real.robot_views(access_tokens)

    async def ignored_events(self, robot_id: int) -> list[IgnoredEvent]:
        return [] if robot_id < 0 else await self.real.ignored_events(robot_id)

    async def forget_ignored(self, robot_id: int, events: Sequence[str]) -> None:
        """Nothing is forgotten in a rehearsal."""

    async def all_robot_views(self, limit: int) -> dict[str, RobotView]:
        return await self.real.all_robot_views(limit)

    async def config_version(self) -> int:
        return await self.real.config_version()


def rehearse(admin: Administration) -> tuple[Groups, Robots]:
    """The groups and robots services of ``admin``, with the same rules and guards, over
    rehearsal stores."""
    groups = RehearsalGroups(admin.groups.store)
    robots = dataclasses.replace(
        admin.robots,
        store=RehearsalRobots(admin.robots.store),
        groups=groups,
        on_change=_nobody,
        limiter=None,
    )
    return Groups(groups, admin.groups.clock, _nobody), robots


#: mypy checks here that the classes are the stores the services take.
_GROUPS: type[GroupStore] = RehearsalGroups
_ROBOTS: type[RobotStore] = RehearsalRobots
