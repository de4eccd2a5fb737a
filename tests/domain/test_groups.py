"""Groups and members, administered through :class:`~gong.domain.groups.Groups` over the real
stores of each backend (a SQLite file and PostgreSQL): the rules it checks, what storage
refuses, and the one notification after each change (none after a refused one)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.errors import Conflict, Invalid, NotFound
from gong.domain.groups import Groups
from gong.protocol.limits import MAX_MOBILE, MAX_USER_ID
from gong.storage.groups import SqlGroups
from tests.domain.admin_parts import Changes, config_version, migrated


@dataclass
class Setup:
    engine: AsyncEngine
    groups: Groups
    changes: Changes
    clock: ManualClock

    async def unchanged(self, version: int) -> None:
        """Nothing was told, and the configuration version is still ``version``."""
        assert self.changes.take() == []
        assert await config_version(self.engine) == version


@pytest.fixture
async def setup(db_settings: Settings, clock: ManualClock) -> AsyncIterator[Setup]:
    async with migrated(db_settings) as engine:
        changes = Changes()
        yield Setup(engine, Groups(SqlGroups(engine), clock, changes), changes, clock)


# -- groups ----------------------------------------------------------------------------------------


async def test_create_trims_the_name_and_stamps_the_time(setup: Setup) -> None:
    groups = setup.groups
    a = await groups.create("ops")
    setup.clock.advance(5)
    b = await groups.create("  研发  ")
    assert (a.name, a.dissolved, a.created_at) == ("ops", False, setup.clock.now_ms() - 5)
    assert (b.name, b.created_at) == ("研发", setup.clock.now_ms())
    assert a.id != b.id
    assert await groups.list() == [a, b]
    assert await groups.get(b.id) == b
    assert setup.changes.take() == [None, None]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "group name cannot be empty"),
        ("   ", "group name cannot be empty"),
        ("x" * 201, "group name is longer than 200 characters"),
    ],
)
async def test_a_group_needs_a_name_of_at_most_200(setup: Setup, name: str, message: str) -> None:
    version = await config_version(setup.engine)
    with pytest.raises(Invalid, match=message):
        await setup.groups.create(name)
    assert await setup.groups.list() == []
    await setup.unchanged(version)


async def test_a_name_of_200_after_trimming_is_allowed(setup: Setup) -> None:
    group = await setup.groups.create(" " + "名" * 200 + " ")
    assert group.name == "名" * 200


async def test_update_renames_dissolves_and_restores(setup: Setup) -> None:
    groups = setup.groups
    group = await groups.create("ops")
    setup.changes.take()

    renamed = await groups.update(group.id, name="  ops-2 ")
    assert renamed == replace(group, name="ops-2")
    dissolved = await groups.update(group.id, dissolved=True)
    assert dissolved == replace(group, name="ops-2", dissolved=True)
    assert await groups.get(group.id) == dissolved
    restored = await groups.update(group.id, dissolved=False, name="ops-3")
    assert restored == replace(group, name="ops-3", dissolved=False)
    assert setup.changes.take() == [None, None, None]

    # Nothing asked: the group as it is, and nobody told.
    version = await config_version(setup.engine)
    assert await groups.update(group.id) == restored
    await setup.unchanged(version)


async def test_refused_updates_change_nothing(setup: Setup) -> None:
    groups = setup.groups
    group = await groups.create("ops")
    setup.changes.take()
    version = await config_version(setup.engine)
    with pytest.raises(Invalid, match="group name cannot be empty"):
        await groups.update(group.id, name=" ", dissolved=True)
    with pytest.raises(Invalid, match="longer than 200"):
        await groups.update(group.id, name="x" * 201)
    with pytest.raises(NotFound, match=f"group {group.id + 9} does not exist"):
        await groups.update(group.id + 9, dissolved=True)
    with pytest.raises(NotFound, match=f"group {group.id + 9} does not exist"):
        await groups.get(group.id + 9)
    assert await groups.get(group.id) == group
    await setup.unchanged(version)


# -- members ---------------------------------------------------------------------------------------


async def test_members_are_added_trimmed_listed_found_and_removed(setup: Setup) -> None:
    groups = setup.groups
    group = await groups.create("ops")
    setup.clock.advance(7)
    setup.changes.take()

    zhang = await groups.add_member(
        group.id, name=" 张三 ", mobile=" 13800000001 ", user_id=" zhangsan "
    )
    assert (zhang.group_id, zhang.name, zhang.mobile, zhang.user_id) == (
        group.id,
        "张三",
        "13800000001",
        "zhangsan",
    )
    assert zhang.created_at == setup.clock.now_ms()
    li = await groups.add_member(group.id, name="李四", mobile="13800000002")
    wang = await groups.add_member(group.id, name="王五", mobile="  ", user_id="wangwu")
    assert (li.mobile, li.user_id) == ("13800000002", None)
    assert (wang.mobile, wang.user_id) == (None, "wangwu")  # blank is no mobile
    assert setup.changes.take() == [None, None, None]

    assert await groups.members(group.id) == [zhang, li, wang]
    assert await groups.member(li.id) == li
    assert await groups.find_member(group.id, mobile="13800000002") == li
    assert await groups.find_member(group.id, mobile="13800000009") is None

    await groups.remove_member(zhang.id)
    assert setup.changes.take() == [None]
    assert await groups.members(group.id) == [li, wang]
    version = await config_version(setup.engine)
    with pytest.raises(NotFound, match=f"member {zhang.id} does not exist"):
        await groups.remove_member(zhang.id)
    with pytest.raises(NotFound, match=f"member {zhang.id} does not exist"):
        await groups.member(zhang.id)
    await setup.unchanged(version)


@pytest.mark.parametrize(
    ("name", "mobile", "user_id", "message"),
    [
        ("nobody", None, None, "a member needs a mobile or a userId"),
        ("nobody", " ", "  ", "a member needs a mobile or a userId"),
        (" ", "13800000003", None, "member name cannot be empty"),
        ("x" * 201, "13800000003", None, "member name is longer than 200 characters"),
    ],
)
async def test_a_member_needs_a_name_and_a_mobile_or_user_id(
    setup: Setup, name: str, mobile: str | None, user_id: str | None, message: str
) -> None:
    group = await setup.groups.create("ops")
    setup.changes.take()
    version = await config_version(setup.engine)
    with pytest.raises(Invalid, match=message):
        await setup.groups.add_member(group.id, name=name, mobile=mobile, user_id=user_id)
    assert await setup.groups.members(group.id) == []
    await setup.unchanged(version)


async def test_a_mobile_or_user_id_is_taken_once_per_group(setup: Setup) -> None:
    groups = setup.groups
    group = await groups.create("ops")
    other = await groups.create("other")
    first = await groups.add_member(group.id, name="张三", mobile="13800000001", user_id="zhangsan")
    setup.changes.take()
    version = await config_version(setup.engine)

    with pytest.raises(Conflict, match="13800000001"):
        await groups.add_member(group.id, name="dup", mobile=" 13800000001 ")  # trimmed first
    with pytest.raises(Conflict, match="zhangsan"):
        await groups.add_member(group.id, name="dup", mobile="139", user_id="zhangsan")
    with pytest.raises(NotFound, match="group 999 does not exist"):
        await groups.add_member(999, name="x", mobile="1")
    assert await groups.members(group.id) == [first]
    await setup.unchanged(version)

    # Another group may have a member with the same mobile and userId.
    twin = await groups.add_member(other.id, name="张三", mobile="13800000001", user_id="zhangsan")
    assert await groups.members(other.id) == [twin]
    assert await groups.find_member(other.id, mobile="13800000001") == twin
    assert await groups.find_member(group.id, mobile="13800000001") == first
    assert setup.changes.take() == [None]


async def test_every_change_is_told_once_and_bumps_the_config_version(setup: Setup) -> None:
    groups = setup.groups
    seen = [await config_version(setup.engine)]

    async def told_once() -> None:
        assert setup.changes.take() == [None]
        now = await config_version(setup.engine)
        assert now > seen[-1]
        seen.append(now)

    group = await groups.create("g")
    await told_once()
    member = await groups.add_member(group.id, name="m", mobile="1")
    await told_once()
    await groups.update(group.id, name="g2")
    await told_once()
    await groups.remove_member(member.id)
    await told_once()
    await groups.update(group.id, dissolved=True)
    await told_once()
    # Reads tell nobody.
    await groups.list()
    await groups.members(group.id)
    await groups.get(group.id)
    await setup.unchanged(seen[-1])


@pytest.mark.parametrize(
    ("mobile", "user_id"), [("1" * 33, None), (None, "u" * 101)], ids=["mobile", "userId"]
)
async def test_a_mobile_or_user_id_longer_than_its_limit_is_invalid(
    setup: Setup, mobile: str | None, user_id: str | None
) -> None:
    assert (MAX_MOBILE, MAX_USER_ID) == (32, 100)
    group = await setup.groups.create("ops")
    with pytest.raises(Invalid):
        await setup.groups.add_member(group.id, name="m", mobile=mobile, user_id=user_id)
    assert await setup.groups.members(group.id) == []
