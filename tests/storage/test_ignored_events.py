"""The ignored-events record on each backend: counted per event and reason through the writer
(concurrent deliveries merge into one row), read newest first, kept to the most recently seen
per robot, forgotten when shown, and gone with its robot."""

from __future__ import annotations

import asyncio

from gong.clock import ManualClock
from gong.domain.models import IgnoreReason, RobotKind
from gong.runtime import Runtime
from gong.storage.ignored import KEEP_PER_ROBOT, SqlIgnored
from tests.helpers import create_robot


async def _robot(runtime: Runtime) -> int:
    group = await runtime.groups.create("ops")
    robot = await create_robot(runtime, group.id, name="gh", kind=RobotKind.GITHUB)
    return robot.id


async def test_counts_merge_per_event_and_reason(runtime: Runtime, clock: ManualClock) -> None:
    robot_id = await _robot(runtime)
    store = runtime.hub.store
    start = clock.now_ms()
    await asyncio.gather(
        *(
            store.record_ignored(robot_id, "star.created", IgnoreReason.OPT_IN, "opt in", start)
            for _ in range(30)
        )
    )
    clock.advance(5_000)
    await store.record_ignored(
        robot_id, "push", IgnoreReason.FILTERED, "is in exclude_events", clock.now_ms()
    )
    await store.record_ignored(
        robot_id, "star.created", IgnoreReason.OPT_IN, "last words", clock.now_ms()
    )
    found = await runtime.robots.ignored_events(robot_id)
    assert [(e.event, e.reason, e.count) for e in found] == [
        ("push", IgnoreReason.FILTERED, 1),
        ("star.created", IgnoreReason.OPT_IN, 31),
    ]
    star = found[1]
    assert (star.first_at, star.last_at, star.detail) == (start, clock.now_ms(), "last words")


async def test_long_names_are_cut_and_rows_are_bounded(
    runtime: Runtime, clock: ManualClock
) -> None:
    robot_id = await _robot(runtime)
    store = runtime.hub.store
    await store.record_ignored(robot_id, "x" * 5000, IgnoreReason.UNKNOWN, "d" * 5000, 1)
    (only,) = await runtime.robots.ignored_events(robot_id)
    assert (len(only.event), len(only.detail)) == (100, 300)
    for i in range(KEEP_PER_ROBOT + 20):
        await store.record_ignored(robot_id, f"e{i}", IgnoreReason.UNKNOWN, "", 1_000 + i)
    await SqlIgnored(runtime.engine).prune()
    kept = await runtime.robots.ignored_events(robot_id)
    assert len(kept) == KEEP_PER_ROBOT
    assert kept[0].event == f"e{KEEP_PER_ROBOT + 19}"  # the most recently seen stay
    assert kept[-1].event == "e20"


async def test_shown_events_are_forgotten_and_robots_take_theirs_along(
    runtime: Runtime, clock: ManualClock
) -> None:
    robot_id = await _robot(runtime)
    store = runtime.hub.store
    await store.record_ignored(robot_id, "push", IgnoreReason.FILTERED, "", 1)
    await store.record_ignored(robot_id, "fork", IgnoreReason.OPT_IN, "", 2)
    await runtime.robot_store.forget_ignored(robot_id, ["push"])
    assert [e.event for e in await runtime.robots.ignored_events(robot_id)] == ["fork"]
    await runtime.robots.delete(robot_id)
    assert await SqlIgnored(runtime.engine).list(robot_id) == []
