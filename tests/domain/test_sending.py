"""The robot page's test message (:func:`gong.domain.sending.send_test`): composed with a
keyword, signed with the robot's secret, sent through the checks ``/robot/send`` applies
(:func:`gong.domain.sending.send_custom`) from the asker's address, answered as DingTalk answers.
A real runtime on a SQLite file.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.models import Group, Robot, RobotView
from gong.domain.sending import Answer, compose_test_message, send_test
from gong.domain.specs import RobotPatch, RobotSpec
from gong.protocol.errors import Dialect, Errors
from gong.runtime import Runtime

TEXT = "Test message from Gong: this robot works."


@pytest.fixture
async def runtime(sqlite_settings: Settings, clock: ManualClock) -> AsyncIterator[Runtime]:
    runtime = await Runtime.open(sqlite_settings, clock=clock)
    try:
        yield runtime
    finally:
        await runtime.close()


async def _group(runtime: Runtime) -> Group:
    return await runtime.groups.create("ops")


async def _view(runtime: Runtime, robot: Robot) -> RobotView:
    await runtime.directory.changed()
    view = await runtime.directory.get(robot.access_token)
    assert view is not None
    return view


async def _refusals(runtime: Runtime, robot: Robot) -> list[tuple[str, str]]:
    for _ in range(100):  # refusals are written in the background
        found = await runtime.history.list_refusals(robot.id)
        if found:
            return [(r.reason, r.ip) for r in found]
        await asyncio.sleep(0.01)
    return []


def test_the_message_carries_a_keyword_when_the_robot_has_keywords() -> None:
    assert compose_test_message((), TEXT).to_wire()["text"]["content"] == TEXT
    assert compose_test_message(("CI", "deploy"), TEXT).to_wire()["text"]["content"] == f"CI {TEXT}"
    # The text holds one already: it is left as it is.
    assert compose_test_message(("Gong",), TEXT).to_wire()["text"]["content"] == TEXT


async def test_a_signed_robot_with_keywords_posts_the_test_message(runtime: Runtime) -> None:
    group = await _group(runtime)
    robot = await runtime.robots.create(
        RobotSpec(group.id, "CI", keywords=["CI"], signing=True, ip_allow=["127.0.0.0/8"])
    )
    assert robot.secret is not None

    answer = await send_test(runtime.hub, await _view(runtime, robot), text=TEXT, ip="127.0.0.1")

    assert answer == Answer(0, "ok") and answer.ok
    [stored] = await runtime.history.list_messages(group.id)
    assert (stored.robot_id, stored.sender_name) == (robot.id, "CI")
    assert stored.content == {"msgtype": "text", "text": {"content": f"CI {TEXT}"}}
    assert await runtime.robots.stats(robot.id) == {"accepted": 1, "refused": 0}


async def test_an_allow_list_without_the_asker_refuses_it_as_dingtalk_does(
    runtime: Runtime,
) -> None:
    group = await _group(runtime)
    robot = await runtime.robots.create(RobotSpec(group.id, "CI", ip_allow=["10.0.0.0/8"]))

    answer = await send_test(runtime.hub, await _view(runtime, robot), text=TEXT, ip="127.0.0.1")

    assert answer.errcode == 310000 and not answer.ok
    assert answer.errmsg == Errors.IP.message_for(Dialect.MODERN)
    assert await runtime.history.list_messages(group.id) == []
    # Recorded like any refused call: the robot page lists it with the asker's address.
    assert await _refusals(runtime, robot) == [("ip", "127.0.0.1")]
    # From an address the list holds, the same robot answers ok.
    allowed = await send_test(runtime.hub, await _view(runtime, robot), text=TEXT, ip="10.1.2.3")
    assert allowed.ok


async def test_a_disabled_robot_answers_400102(runtime: Runtime) -> None:
    group = await _group(runtime)
    robot = await runtime.robots.create(RobotSpec(group.id, "CI", keywords=["CI"]))
    await runtime.robots.update(robot.id, RobotPatch(enabled=False))

    answer = await send_test(runtime.hub, await _view(runtime, robot), text=TEXT, ip="127.0.0.1")

    assert answer.errcode == Errors.ROBOT_DISABLED.code
    assert await runtime.history.list_messages(group.id) == []
    assert await _refusals(runtime, robot) == [("robot_disabled", "127.0.0.1")]
