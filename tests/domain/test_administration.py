"""The services as :func:`gong.administration.administration` wires them for a deployment: the
real SSRF guard on upstream and outgoing URLs, the real integration settings rules, one change
listener for groups and robots, the limiter, and the configured admin token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gong.administration import administration, open_administration
from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.errors import Conflict, Invalid
from gong.domain.models import Outgoing, RateLimit, RobotKind, Upstream
from gong.domain.service import limiter_key
from gong.domain.specs import RobotPatch, RobotSpec
from gong.outgoing.guard import TargetRefused
from gong.ratelimit.memory import MemoryLimiter
from gong.storage.robots import SqlRobots
from tests.domain.admin_parts import Changes, migrated
from tests.helpers import ADMIN_TOKEN

HINT = "; GONG_OUTGOING_ALLOW_PRIVATE=1 allows internal addresses"


@pytest.fixture
async def engine(sqlite_settings: Settings) -> AsyncIterator[AsyncEngine]:
    async with migrated(sqlite_settings) as engine:
        yield engine


def upstream(host: str) -> Upstream:
    return Upstream(url=f"http://{host}/robot/send?access_token=x")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"upstream": upstream("127.0.0.1:9")},
            "the upstream URL points at 127.0.0.1, a loopback address" + HINT,
        ),
        (
            {"upstream": upstream("10.1.2.3:9")},
            "the upstream URL points at 10.1.2.3, a private address" + HINT,
        ),
        (
            {"outgoing": Outgoing(url="http://192.168.1.5:9001/cb", token="t")},
            "the outgoing URL points at 192.168.1.5, a private address" + HINT,
        ),
        (
            {"outgoing": Outgoing(url="http://[::1]:9001/cb", token="t")},
            "the outgoing URL points at ::1, a loopback address" + HINT,
        ),
        # This Gong server itself (its public URL), allowed or not.
        ({"upstream": upstream("gong.test")}, "the upstream URL points at this Gong server itself"),
        # The unspecified address is refused always: no hint.
        (
            {"upstream": upstream("0.0.0.0:9")},
            "the upstream URL points at 0.0.0.0, the unspecified address",
        ),
    ],
)
async def test_the_guard_refuses_internal_addresses(
    engine: AsyncEngine,
    sqlite_settings: Settings,
    clock: ManualClock,
    spec: dict[str, object],
    message: str,
) -> None:
    changes = Changes()
    admin = administration(engine, sqlite_settings, clock, on_change=changes)
    group = await admin.groups.create("ops")
    robot = await admin.robots.create(RobotSpec(group.id, "r", keywords=["k"]))
    assert changes.take() == [None, robot.id]

    with pytest.raises(TargetRefused, match=f"^{re.escape(message)}$"):
        await admin.robots.create(RobotSpec(group.id, "new", keywords=["k"], **spec))  # type: ignore[arg-type]
    with pytest.raises(Invalid, match=re.escape(message)):
        await admin.robots.update(robot.id, RobotPatch(**spec))  # type: ignore[arg-type]
    assert await admin.robots.list() == [robot]
    assert changes.take() == []


async def test_private_addresses_are_allowed_when_the_settings_say_so(
    engine: AsyncEngine, sqlite_settings: Settings, clock: ManualClock
) -> None:
    settings = sqlite_settings.model_copy(update={"outgoing_allow_private": True})
    admin = administration(engine, settings, clock)
    group = await admin.groups.create("ops")
    robot = await admin.robots.create(
        RobotSpec(
            group.id,
            "r",
            keywords=["k"],
            upstream=upstream("127.0.0.1:9"),
            outgoing=Outgoing(url="http://10.1.2.3:9001/cb", token="t"),
        )
    )
    assert robot.upstream == upstream("127.0.0.1:9")
    assert robot.outgoing == Outgoing(url="http://10.1.2.3:9001/cb", token="t")
    # Never this server, nor the unspecified address.
    for where, message in (("gong.test", "this Gong server itself"), ("0.0.0.0:9", "unspecified")):
        with pytest.raises(TargetRefused, match=message):
            await admin.robots.update(robot.id, RobotPatch(upstream=upstream(where)))
    assert await admin.robots.get(robot.id) == robot


async def test_the_integration_settings_rules_apply(
    engine: AsyncEngine, sqlite_settings: Settings, clock: ManualClock
) -> None:
    admin = administration(engine, sqlite_settings, clock)
    group = await admin.groups.create("ops")
    with pytest.raises(Invalid, match="a template robot needs a template"):
        await admin.robots.create(RobotSpec(group.id, "t", kind=RobotKind.TEMPLATE))
    with pytest.raises(Invalid, match="source_secret applies to integration robots"):
        await admin.robots.create(
            RobotSpec(group.id, "c", keywords=["k"], settings={"source_secret": "s"})
        )
    github = await admin.robots.create(
        RobotSpec(group.id, "gh", kind=RobotKind.GITHUB, settings={"only_events": [" push "]})
    )
    assert github.settings == {"only_events": ["push"]}
    with pytest.raises(Conflict, match="template does not apply to a github robot"):
        await admin.robots.update(github.id, RobotPatch(settings={"template": "{{ x }}"}))
    assert await admin.robots.list() == [github]


async def test_one_listener_the_limiter_and_the_configured_token_are_wired(
    engine: AsyncEngine, sqlite_settings: Settings, clock: ManualClock
) -> None:
    changes = Changes()
    limiter = MemoryLimiter()
    admin = administration(engine, sqlite_settings, clock, on_change=changes, limiter=limiter)
    assert admin.engine is engine

    group = await admin.groups.create("ops")
    member = await admin.groups.add_member(group.id, name="m", mobile="1")
    robot = await admin.robots.create(
        RobotSpec(group.id, "r", keywords=["k"], rate_limit=RateLimit(1, 60, 600))
    )
    await admin.groups.remove_member(member.id)
    assert changes.take() == [None, None, robot.id, None]
    assert await SqlRobots(engine).get_robot(robot.id) == robot  # on the engine given

    key, now = limiter_key(robot.id), clock.now_ms()
    await limiter.acquire(key, robot.rate_limit, now)
    assert not (await limiter.acquire(key, robot.rate_limit, now)).allowed
    await admin.robots.update(robot.id, RobotPatch(rate_limit=RateLimit(5, 60, 600)))
    assert changes.take() == [robot.id]
    assert (await limiter.acquire(key, RateLimit(5, 60, 600), now)).allowed

    assert sqlite_settings.admin_token == ADMIN_TOKEN
    assert await admin.tokens.admits(ADMIN_TOKEN)
    assert not await admin.tokens.admits(ADMIN_TOKEN + "x")
    assert await admin.tokens.first() is None  # a token is configured
    assert await admin.history.count_messages(group.id) == 0


async def test_open_administration_opens_the_configured_database(
    tmp_path: Path, clock: ManualClock
) -> None:
    settings = Settings(data_dir=tmp_path / "cli", public_url="http://gong.test")
    async with open_administration(settings, clock) as admin:
        group = await admin.groups.create("ops")
        robot = await admin.robots.create(RobotSpec(group.id, "r", keywords=["k"]))
        token = await admin.tokens.first()
        assert token is not None
        with pytest.raises(TargetRefused, match="loopback"):
            await admin.robots.update(robot.id, RobotPatch(upstream=upstream("127.0.0.1:9")))
    assert (tmp_path / "cli" / "gong.db").exists()
    # A second process (the next CLI command) sees what the first one made.
    async with open_administration(settings, clock) as again:
        assert await again.groups.list() == [group]
        assert await again.robots.get(robot.id) == robot
        assert await again.tokens.admits(token)
        assert await again.tokens.first() is None
