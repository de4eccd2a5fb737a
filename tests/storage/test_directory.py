"""The robot directory: cached views, one lookup per token, bulk refresh on outside changes."""

from __future__ import annotations

import asyncio

from gong.runtime import Runtime
from gong.storage.directory import Directory


async def test_concurrent_misses_share_one_lookup(runtime: Runtime) -> None:
    group = await runtime.repository.create_group("g")
    robot = await runtime.repository.create_robot(group.id, name="r", keywords=["k"])
    directory = Directory(runtime.repository, 60)
    calls = 0
    original = runtime.repository.robot_view

    async def counting(token: str) -> object:
        nonlocal calls
        calls += 1
        return await original(token)

    runtime.repository.robot_view = counting  # type: ignore[method-assign]
    views = await asyncio.gather(*(directory.get(robot.access_token) for _ in range(50)))
    assert calls == 1
    assert all(v is not None and v.robot.id == robot.id for v in views)
    assert await directory.get(robot.access_token) is views[0]
    assert calls == 1


async def test_an_outside_change_is_seen_within_the_refresh_interval(runtime: Runtime) -> None:
    group = await runtime.repository.create_group("g")
    robot = await runtime.repository.create_robot(group.id, name="r", keywords=["k"])
    directory = Directory(runtime.repository, 0.05)
    await directory.start()
    try:
        before = await directory.get(robot.access_token)
        assert before is not None
        assert before.robot.enabled
        await runtime.repository.set_enabled(robot.id, False)  # as another process would
        for _ in range(100):
            view = await directory.get(robot.access_token)
            if view is not None and not view.robot.enabled:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the change was not picked up")
        await runtime.repository.delete_robot(robot.id)
        for _ in range(100):
            if await directory.get(robot.access_token) is None:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the deletion was not picked up")
    finally:
        await directory.stop()


async def test_every_robot_is_loaded_at_start_with_its_group_members(runtime: Runtime) -> None:
    repo = runtime.repository
    robots = []
    for g in range(3):
        group = await repo.create_group(f"g{g}")
        await repo.add_member(group.id, name=f"m{g}", mobile=f"1380000000{g}", user_id=f"u{g}")
        for r in range(4):
            robots.append(await repo.create_robot(group.id, name=f"r{g}{r}", keywords=["k"]))
    directory = Directory(repo, 60)
    lookups = 0
    original = repo.robot_view

    async def counting(token: str) -> object:
        nonlocal lookups
        lookups += 1
        return await original(token)

    repo.robot_view = counting  # type: ignore[method-assign]
    await directory.start()
    try:
        for robot in robots:
            view = await directory.get(robot.access_token)
            assert view is not None and view.robot.id == robot.id
            assert view.group.id == robot.group_id
            (member,) = view.members_by_mobile.values()
            assert member.group_id == robot.group_id
            assert view.members_by_user_id[member.user_id or ""] is member
        assert lookups == 0  # all served from the preload
        assert await directory.get("0" * 64) is None
        assert await directory.get("0" * 64) is None
        assert lookups == 1  # a wrong token is looked up once, then remembered
        assert await directory.get("x" * 65) is None
        assert lookups == 1  # longer than any token: never looked up
    finally:
        await directory.stop()


async def test_a_change_made_in_this_process_is_seen_when_changed_returns(
    runtime: Runtime,
) -> None:
    repo = runtime.repository
    group = await repo.create_group("g")
    robot = await repo.create_robot(group.id, name="r", keywords=["k"])
    directory = Directory(repo, 60)  # the poller would take a minute
    await directory.start()
    try:
        assert (await directory.get(robot.access_token)) is not None
        await repo.set_enabled(robot.id, False)
        await directory.changed()
        view = await directory.get(robot.access_token)
        assert view is not None and not view.robot.enabled
        second = await repo.create_robot(group.id, name="r2", keywords=["k"])
        await repo.delete_robot(robot.id)
        await directory.changed()
        assert await directory.get(robot.access_token) is None
        assert (await directory.get(second.access_token)) is not None
    finally:
        await directory.stop()


async def test_a_change_made_here_is_loaded_once_not_again_by_the_poller(
    runtime: Runtime,
) -> None:
    repo = runtime.repository
    group = await repo.create_group("g")
    robot = await repo.create_robot(group.id, name="r", keywords=["k"])
    loads = 0

    class Counting:
        """The real repository, counting this directory's bulk loads (not the runtime's own)."""

        def __getattr__(self, name: str) -> object:
            return getattr(repo, name)

        async def all_robot_views(self, limit: int) -> object:
            nonlocal loads
            loads += 1
            return await repo.all_robot_views(limit)

    directory = Directory(Counting(), 0.02)  # type: ignore[arg-type]
    await directory.start()
    try:
        assert loads == 1
        await repo.set_enabled(robot.id, False)
        await directory.changed()
        assert loads == 2
        await asyncio.sleep(0.2)  # ten polls
        assert loads == 2
        await repo.set_enabled(robot.id, True)  # as another process would
        for _ in range(100):
            if loads == 3:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        assert loads == 3  # an outside change: one reload by the poller
        view = await directory.get(robot.access_token)
        assert view is not None and view.robot.enabled
    finally:
        await directory.stop()
