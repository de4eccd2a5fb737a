"""The robot directory: cached views, one lookup per token, bulk refresh on outside changes.

The poller is driven by a :class:`ManualClock` of the test's own: a poll happens when the test
moves that clock, and ``asleep`` waits until the poll is done. First the directory on an
in-memory store (how it caches, when it reloads), then on each database backend.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence

import pytest

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.models import Group, Overflow, RateLimit, Robot, RobotKind, RobotView
from gong.domain.specs import RobotSpec
from gong.runtime import Runtime
from gong.storage.directory import Directory

REFRESH_S = 0.25
REFRESH_MS = 250


async def asleep(clock: ManualClock) -> None:
    """Wait (a few seconds at most) until the poller has done its work and sleeps again."""
    await asyncio.wait_for(clock.sleeping(), 5)


async def poll(clock: ManualClock) -> None:
    """One poll of the directory: move its clock by the interval, wait until it is done."""
    clock.advance(REFRESH_MS)
    await asleep(clock)


# -- on an in-memory store -------------------------------------------------------------------------


def view(robot_id: int, *, enabled: bool = True) -> RobotView:
    robot = Robot(
        id=robot_id,
        group_id=1,
        name=f"r{robot_id}",
        kind=RobotKind.CUSTOM,
        access_token=f"{robot_id:064d}",
        secret=None,
        keywords=("k",),
        ip_allow=(),
        enabled=enabled,
        rate_limit=RateLimit(),
        overflow=Overflow.REJECT,
        avatar_url="",
        settings={},
        created_at=0,
        updated_at=0,
    )
    return RobotView(robot=robot, group=Group(1, "g", False, 0), security=robot.security)


class Views:
    """A robot store in memory: what the directory reads, counted; ``gate`` holds lookups."""

    def __init__(self, *views: RobotView) -> None:
        self.views = {v.robot.access_token: v for v in views}
        self.version = 1
        self.lookups: list[str] = []
        self.loads = 0
        self.fail: Exception | None = None
        self.gate: asyncio.Event | None = None

    def change(self, *views: RobotView, delete: Sequence[str] = ()) -> None:
        """A change as another process makes it: the views, then the version."""
        for v in views:
            self.views[v.robot.access_token] = v
        for token in delete:
            del self.views[token]
        self.version += 1

    async def robot_views(self, access_tokens: Sequence[str]) -> dict[str, RobotView]:
        self.lookups.extend(access_tokens)
        found = {t: self.views[t] for t in access_tokens if t in self.views}  # read now…
        if self.gate is not None:
            await self.gate.wait()  # …answered later
        if self.fail is not None:
            raise self.fail
        return found

    async def all_robot_views(self, limit: int) -> dict[str, RobotView]:
        self.loads += 1
        if self.fail is not None:
            raise self.fail
        return dict(list(self.views.items())[:limit])

    async def config_version(self) -> int:
        if self.fail is not None:
            raise self.fail
        return self.version


@pytest.fixture
async def started() -> AsyncIterator[tuple[Directory, Views, ManualClock]]:
    store, clock = Views(view(1), view(2)), ManualClock()
    directory = Directory(store, REFRESH_S, clock=clock)
    await directory.start()
    await asleep(clock)
    try:
        yield directory, store, clock
    finally:
        await directory.stop()


async def test_every_view_is_loaded_at_start_and_served_from_the_cache(
    started: tuple[Directory, Views, ManualClock],
) -> None:
    directory, store, _ = started
    assert store.loads == 1
    for robot_id in (1, 2):
        got = await directory.get(view(robot_id).robot.access_token)
        assert got is not None and got.robot.id == robot_id
    assert store.lookups == []


async def test_a_wrong_token_is_looked_up_once_a_too_long_one_never(
    started: tuple[Directory, Views, ManualClock],
) -> None:
    directory, store, _ = started
    assert await directory.get("0" * 64) is None
    assert await directory.get("0" * 64) is None
    assert store.lookups == ["0" * 64]  # the answer "no such robot" is cached too
    assert await directory.get("x" * 65) is None
    assert store.lookups == ["0" * 64]


async def test_concurrent_misses_share_one_lookup() -> None:
    store, clock = Views(view(3)), ManualClock()
    directory = Directory(store, REFRESH_S, clock=clock)  # not started: every token is a miss
    store.gate = asyncio.Event()
    token = view(3).robot.access_token
    waiting = [asyncio.create_task(directory.get(token)) for _ in range(50)]
    await asyncio.sleep(0)
    store.gate.set()
    views = await asyncio.gather(*waiting)
    assert store.lookups == [token]
    assert all(v is views[0] and v is not None and v.robot.id == 3 for v in views)
    assert await directory.get(token) is views[0]
    assert store.lookups == [token]


async def test_a_failed_lookup_reaches_every_waiter_and_is_not_cached() -> None:
    store, clock = Views(view(3)), ManualClock()
    directory = Directory(store, REFRESH_S, clock=clock)
    token = view(3).robot.access_token
    store.gate, store.fail = asyncio.Event(), ConnectionError("database is away")
    waiting = [asyncio.create_task(directory.get(token)) for _ in range(3)]
    await asyncio.sleep(0)
    store.gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert [type(r) for r in results] == [ConnectionError] * 3
    store.fail = None
    got = await directory.get(token)
    assert got is not None and got.robot.id == 3
    assert store.lookups == [token, token]


async def test_a_lookup_started_before_a_reload_is_not_cached_after_it() -> None:
    store, clock = Views(), ManualClock()
    directory = Directory(store, REFRESH_S, clock=clock)
    token = view(3).robot.access_token
    store.gate = asyncio.Event()
    lookup = asyncio.create_task(directory.get(token))
    await asyncio.sleep(0)
    store.change(view(3))  # created while the lookup runs…
    await directory.changed()  # …and loaded by the reload
    store.gate.set()
    assert await lookup is None  # what the lookup read, when it started
    got = await directory.get(token)
    assert got is not None and got.robot.id == 3  # the reload's view, not the stale answer


async def test_an_outside_change_is_seen_at_the_next_poll_not_before(
    started: tuple[Directory, Views, ManualClock],
) -> None:
    directory, store, clock = started
    token = view(1).robot.access_token
    store.change(view(1, enabled=False))
    clock.advance(REFRESH_MS - 1)
    await asleep(clock)
    before = await directory.get(token)
    assert before is not None and before.robot.enabled
    assert store.loads == 1
    clock.advance(1)
    await asleep(clock)
    after = await directory.get(token)
    assert after is not None and not after.robot.enabled
    assert store.loads == 2
    store.change(delete=[token])
    await poll(clock)
    assert await directory.get(token) is None
    assert store.loads == 3


async def test_a_poll_without_a_change_loads_nothing(
    started: tuple[Directory, Views, ManualClock],
) -> None:
    _, store, clock = started
    for _ in range(10):
        await poll(clock)
    assert store.loads == 1


async def test_a_change_made_here_is_loaded_once_not_again_by_the_poller(
    started: tuple[Directory, Views, ManualClock],
) -> None:
    directory, store, clock = started
    store.change(view(1, enabled=False))
    await directory.changed()
    assert store.loads == 2
    got = await directory.get(view(1).robot.access_token)
    assert got is not None and not got.robot.enabled
    for _ in range(10):
        await poll(clock)
    assert store.loads == 2
    store.change(view(1))  # as another process would
    await poll(clock)
    assert store.loads == 3  # an outside change: one reload by the poller
    for _ in range(3):
        await poll(clock)
    assert store.loads == 3


async def test_the_cache_keeps_serving_while_the_database_is_away(
    started: tuple[Directory, Views, ManualClock], caplog: pytest.LogCaptureFixture
) -> None:
    directory, store, clock = started
    token = view(1).robot.access_token
    store.fail = ConnectionError("database is away")
    with caplog.at_level(logging.WARNING, logger="gong.storage.directory"):
        await poll(clock)
        await poll(clock)
    assert [r.getMessage() for r in caplog.records] == [
        "could not reload robot views: database is away"
    ] * 2
    got = await directory.get(token)
    assert got is not None and got.robot.enabled
    store.fail = None
    store.change(view(1, enabled=False))
    await poll(clock)  # back: the poller goes on where it was
    got = await directory.get(token)
    assert got is not None and not got.robot.enabled


async def test_stop_ends_the_polling() -> None:
    store, clock = Views(view(1)), ManualClock()
    directory = Directory(store, REFRESH_S, clock=clock)
    await directory.start()
    await asleep(clock)
    await directory.stop()
    assert clock.sleepers == 0
    store.change(view(1, enabled=False))
    clock.advance(10 * REFRESH_MS)
    await asyncio.sleep(0)
    assert store.loads == 1
    await directory.stop()


# -- on each database backend ----------------------------------------------------------------------


@pytest.fixture
async def server(db_settings: Settings, clock: ManualClock) -> AsyncIterator[Runtime]:
    """A runtime (no relay: not needed here) whose changes are the test directory's outside."""
    rt = await Runtime.open(db_settings.model_copy(update={"relay_enabled": False}), clock=clock)
    try:
        yield rt
    finally:
        await rt.close()


async def test_every_robot_is_loaded_at_start_with_its_group_members(server: Runtime) -> None:
    robots = []
    for g in range(3):
        group = await server.groups.create(f"g{g}")
        await server.groups.add_member(
            group.id, name=f"m{g}", mobile=f"1380000000{g}", user_id=f"u{g}"
        )
        for r in range(4):
            spec = RobotSpec(group_id=group.id, name=f"r{g}{r}", keywords=["k"])
            robots.append(await server.robots.create(spec))
    lookups: list[str] = []
    store = server.robot_store
    original = store.robot_views

    async def counting(tokens: Sequence[str]) -> dict[str, RobotView]:
        lookups.extend(tokens)
        return await original(tokens)

    store.robot_views = counting  # type: ignore[method-assign]
    clock = ManualClock()
    directory = Directory(store, REFRESH_S, clock=clock)
    await directory.start()
    try:
        for robot in robots:
            got = await directory.get(robot.access_token)
            assert got is not None and got.robot.id == robot.id
            assert got.robot.access_token == robot.access_token
            assert got.group.id == robot.group_id
            (member,) = got.members_by_mobile.values()
            assert member.group_id == robot.group_id
            assert got.members_by_user_id[member.user_id or ""] is member
        assert lookups == []  # all served from the preload
        assert await directory.get("0" * 64) is None
        assert await directory.get("0" * 64) is None
        assert lookups == ["0" * 64]  # a wrong token is looked up once, then remembered
    finally:
        await directory.stop()


async def test_a_change_made_in_this_process_is_seen_when_changed_returns(
    server: Runtime,
) -> None:
    group = await server.groups.create("g")
    robot = await server.robots.create(RobotSpec(group_id=group.id, name="r", keywords=["k"]))
    directory = Directory(server.robot_store, REFRESH_S, clock=ManualClock())  # never polls
    await directory.start()
    try:
        assert (await directory.get(robot.access_token)) is not None
        await server.robots.set_enabled(robot.id, False)
        await directory.changed()
        got = await directory.get(robot.access_token)
        assert got is not None and not got.robot.enabled
        second = await server.robots.create(RobotSpec(group_id=group.id, name="r2", keywords=["k"]))
        await server.robots.delete(robot.id)
        await directory.changed()
        assert await directory.get(robot.access_token) is None
        assert (await directory.get(second.access_token)) is not None
    finally:
        await directory.stop()


async def test_an_outside_change_is_seen_at_the_next_poll(server: Runtime) -> None:
    group = await server.groups.create("g")
    robot = await server.robots.create(RobotSpec(group_id=group.id, name="r", keywords=["k"]))
    clock = ManualClock()
    directory = Directory(server.robot_store, REFRESH_S, clock=clock)
    await directory.start()
    try:
        await asleep(clock)
        before = await directory.get(robot.access_token)
        assert before is not None and before.robot.enabled
        await server.robots.set_enabled(robot.id, False)  # this directory is not told
        got = await directory.get(robot.access_token)
        assert got is not None and got.robot.enabled  # not before the poll
        await poll(clock)
        got = await directory.get(robot.access_token)
        assert got is not None and not got.robot.enabled
        await server.robots.delete(robot.id)
        await poll(clock)
        assert await directory.get(robot.access_token) is None
    finally:
        await directory.stop()
