from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.models import Group, Member, Outgoing, RateLimit, Robot
from gong.domain.users import User
from gong.web.app import GongApp, create_app
from tests.conftest import make_client
from tests.helpers import create_robot
from tests.outgoing.callback_server import CallbackServer
from tests.web.webapp import make_user


@pytest.fixture
def bot() -> Iterator[CallbackServer]:
    server = CallbackServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def out_settings(sqlite_settings: Settings) -> Settings:
    """Callbacks to 127.0.0.1 allowed (the test's own server); fast retries."""
    return sqlite_settings.model_copy(
        update={
            "outgoing_allow_private": True,
            "outgoing_backoff_seconds": 0.02,
            "outgoing_timeout_seconds": 0.4,
        }
    )


@pytest.fixture
async def out_app(out_settings: Settings, clock: ManualClock) -> AsyncIterator[GongApp]:
    gong = create_app(out_settings, clock=clock)
    await gong.startup()
    try:
        yield gong
    finally:
        await gong.shutdown()


@pytest.fixture
async def out_client(out_app: GongApp) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(out_app) as c:
        yield c


@dataclass
class World:
    group: Group
    zhang: Member
    li: Member
    wang: Member
    robot: Robot
    zhang_user: User
    li_user: User
    root: User


async def make_world(app: GongApp, url: str, *, signing: bool = True) -> World:
    """A group of three, and a robot calling back ``url`` (stored without the save-time address
    check: the call-time guard decides)."""
    runtime = app.runtime
    group = await runtime.groups.create("发布群")
    zhang = await runtime.groups.add_member(
        group.id, name="张三", mobile="13800000001", user_id="zhangsan"
    )
    li = await runtime.groups.add_member(group.id, name="李四", mobile="13800000002")
    wang = await runtime.groups.add_member(
        group.id, name="王五", mobile="13800000003", user_id="wangwu"
    )
    robot = await create_robot(
        runtime,
        group.id,
        name="ping-bot",
        keywords=["never"],
        signing=signing,
        outgoing=Outgoing(url=url, token="tok-123"),
        rate_limit=RateLimit(0, 60, 0),
        check_addresses=False,
    )
    return World(
        group=group,
        zhang=zhang,
        li=li,
        wang=wang,
        robot=robot,
        zhang_user=await make_user(app, "zhang", members=(zhang.id,)),
        li_user=await make_user(app, "li", members=(li.id,)),
        root=await make_user(app, "root", admin=True),
    )
