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
