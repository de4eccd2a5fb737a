"""Groups and their members, administered: every caller creates and changes them through
:class:`Groups`, which checks the rules and tells the caches (its
:class:`~gong.domain.robot_admin.ChangeListener`) after each change."""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from gong.clock import Clock
from gong.domain.errors import Invalid
from gong.domain.models import Group, Member
from gong.domain.ports import GroupStore
from gong.domain.robot_admin import ChangeListener, required
from gong.domain.timetext import is_zone
from gong.i18n import core
from gong.protocol.limits import MAX_MOBILE, MAX_USER_ID

__all__ = ["MAX_RETENTION_COUNT", "MAX_RETENTION_DAYS", "Groups", "check_retention"]


async def _nobody(robot_id: int | None) -> None:
    """No cache to tell."""


#: The longest retention in days (100 years) and the most messages a count may keep.
MAX_RETENTION_DAYS = 36_500
MAX_RETENTION_COUNT = 100_000_000


def check_retention(days: int | None, count: int | None) -> None:
    """Raises :class:`Invalid` unless each given retention is 0 (forever) or in range."""
    if days is not None and not 0 <= days <= MAX_RETENTION_DAYS:
        raise Invalid(
            core.lazy("retention_days is 0 (keep forever) to %(most)s", most=MAX_RETENTION_DAYS)
        )
    if count is not None and not 0 <= count <= MAX_RETENTION_COUNT:
        raise Invalid(
            core.lazy("retention_count is 0 (keep forever) to %(most)s", most=MAX_RETENTION_COUNT)
        )


@dataclass(slots=True)
class Groups:
    store: GroupStore
    clock: Clock
    on_change: ChangeListener = _nobody

    async def create(self, name: str) -> Group:
        group = await self.store.insert_group(
            required(name, core.lazy("group name")), self.clock.now_ms()
        )
        await self.on_change(None)
        return group

    async def get(self, group_id: int) -> Group:
        return await self.store.get_group(group_id)

    async def list(self) -> builtins.list[Group]:
        return await self.store.list_groups()

    async def update(
        self,
        group_id: int,
        *,
        name: str | None = None,
        dissolved: bool | None = None,
        timezone: str | None = None,
        retention_days: int | None = None,
        retention_count: int | None = None,
    ) -> Group:
        """Rename the group, dissolve it (its robots are then refused, 400013) or restore it,
        set the time zone its messages' times are written in (``""``: the server's), or how
        long its messages are kept: ``retention_days`` days and/or the newest
        ``retention_count`` (0: forever, the default).

        Raises:
            NotFound: no such group.
            Invalid: an empty name, a zone that is not an IANA time zone, or a retention out
                of range.
        """
        check_retention(retention_days, retention_count)
        clean = None if name is None else required(name, core.lazy("group name"))
        zone = None if timezone is None else timezone.strip()
        if zone and not is_zone(zone):
            raise Invalid(
                core.lazy(
                    "%(zone)r is not a time zone: use an IANA name such as Asia/Shanghai or UTC",
                    zone=zone,
                )
            )
        unchanged = retention_days is None and retention_count is None
        if clean is None and dissolved is None and zone is None and unchanged:
            return await self.store.get_group(group_id)
        group = await self.store.update_group(
            group_id,
            name=clean,
            dissolved=dissolved,
            timezone=zone,
            retention_days=retention_days,
            retention_count=retention_count,
        )
        await self.on_change(None)
        return group

    async def add_member(
        self, group_id: int, *, name: str, mobile: str | None, user_id: str | None = None
    ) -> Member:
        """Add a member, found by @mentions through its mobile or DingTalk userId.

        Raises:
            NotFound: no such group.
            Invalid: no name, or neither a mobile nor a userId.
            Conflict: the group already has a member with this mobile or userId.
        """
        clean = required(name, core.lazy("member name"))
        mobile = (mobile or "").strip() or None
        user_id = (user_id or "").strip() or None
        if mobile is None and user_id is None:
            raise Invalid(core.lazy("a member needs a mobile or a userId"))
        if mobile is not None and len(mobile) > MAX_MOBILE:
            raise Invalid(core.lazy("a mobile is at most %(most)s characters", most=MAX_MOBILE))
        if user_id is not None and len(user_id) > MAX_USER_ID:
            raise Invalid(core.lazy("a userId is at most %(most)s characters", most=MAX_USER_ID))
        await self.store.get_group(group_id)
        member = await self.store.insert_member(
            group_id, clean, mobile, user_id, self.clock.now_ms()
        )
        await self.on_change(None)
        return member

    async def members(self, group_id: int) -> builtins.list[Member]:
        return await self.store.list_members(group_id)

    async def member(self, member_id: int) -> Member:
        return await self.store.get_member(member_id)

    async def find_member(self, group_id: int, *, mobile: str) -> Member | None:
        return await self.store.find_member(group_id, mobile=mobile)

    async def remove_member(self, member_id: int) -> None:
        await self.store.delete_member(member_id)
        await self.on_change(None)
