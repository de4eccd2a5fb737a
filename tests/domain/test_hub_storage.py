"""The hub over the real message store — the group-commit writer on each backend (a SQLite file
and PostgreSQL) — where a robot's ``msgUuid`` is remembered: per robot, for the dedup window of
the clock, a repeat inside it acknowledged and not stored. (``tests/domain/test_hub.py`` checks
the hub's side against an in-memory store; ``tests/storage/test_split_stores.py`` the pruning.)"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.models import Robot, RobotView
from gong.domain.ports import StoreResult
from gong.domain.specs import RobotSpec
from gong.protocol.messages import parse_message
from gong.runtime import Runtime


@pytest.fixture
async def runtime(db_settings: Settings, clock: ManualClock) -> AsyncIterator[Runtime]:
    rt = await Runtime.open(db_settings, clock=clock)
    try:
        yield rt
    finally:
        await rt.close()


async def _view(rt: Runtime, robot: Robot) -> RobotView:
    return (await rt.robot_store.robot_views([robot.access_token]))[robot.access_token]


async def _send(rt: Runtime, view: RobotView, content: str, uuid: str) -> StoreResult:
    body = {"msgtype": "text", "text": {"content": content}, "msgUuid": uuid}
    return await rt.hub.accept_from_robot(view, parse_message(body), orjson.dumps(body).decode())


async def test_a_msg_uuid_is_remembered_per_robot_for_the_window(
    runtime: Runtime, clock: ManualClock
) -> None:
    rt = runtime
    window = rt.settings.dedup_hours * 3_600_000
    group = await rt.groups.create("g")
    r1 = await rt.robots.create(RobotSpec(group.id, "r1", keywords=["k"]))
    r2 = await rt.robots.create(RobotSpec(group.id, "r2", keywords=["k"]))
    v1, v2 = await _view(rt, r1), await _view(rt, r2)
    start = clock.now_ms()

    first = await _send(rt, v1, "k 1", "u")
    clock.advance(1_000)
    again = await _send(rt, v1, "k 2", "u")
    other_robot = await _send(rt, v2, "k 3", "u")
    other_uuid = await _send(rt, v1, "k 4", "u-2")
    assert first.message_id is not None and not first.duplicate
    assert (again.message_id, again.duplicate) == (None, True)
    assert other_robot.message_id is not None and not other_robot.duplicate
    assert other_uuid.message_id is not None and not other_uuid.duplicate

    # The last moment of the window still knows it; just after, it is a new message.
    clock.set(start + window)
    assert (await _send(rt, v1, "k 5", "u")).duplicate
    clock.set(start + window + 1)
    later = await _send(rt, v1, "k 6", "u")
    assert later.message_id is not None and not later.duplicate
    # Remembered afresh from then on.
    assert (await _send(rt, v1, "k 7", "u")).duplicate

    assert await rt.history.count_messages(group.id) == 4
    stored = await rt.history.list_messages(group.id, after=0)
    assert [(m.robot_id, m.msg_uuid, m.content["text"]["content"]) for m in stored] == [
        (r1.id, "u", "k 1"),
        (r2.id, "u", "k 3"),
        (r1.id, "u-2", "k 4"),
        (r1.id, "u", "k 6"),
    ]
    assert await rt.robots.stats(r1.id) == {"accepted": 3, "refused": 0}
