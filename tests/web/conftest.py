from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from gong.domain.models import Robot
from gong.web.app import GongApp

MakeRobot = Callable[..., Awaitable[Robot]]


@pytest.fixture
def make_robot(app: GongApp) -> MakeRobot:
    """Create a group (once) and a robot in it, with the given settings."""
    state: dict[str, int] = {}

    async def make(**kwargs: Any) -> Robot:
        repo = app.runtime.repository
        if "group" not in state:
            group = await repo.create_group("ops")
            await repo.add_member(group.id, name="张三", mobile="13800000001", user_id="zhangsan")
            await repo.add_member(group.id, name="李四", mobile="13800000002", user_id="lisi")
            state["group"] = group.id
        kwargs.setdefault("name", "robot")
        robot = await repo.create_robot(state["group"], **kwargs)
        app.runtime.changed()
        return robot

    return make
