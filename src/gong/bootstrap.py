"""First-start chores: the admin token, the demo group and robot of ``make run``, and its web
app admin account."""

from __future__ import annotations

import secrets
import shlex
from dataclasses import dataclass

from gong.clock import Clock
from gong.config import Settings
from gong.domain.groups import Groups
from gong.domain.models import Robot
from gong.domain.passwords import hash_password
from gong.domain.robot_admin import Robots
from gong.domain.specs import RobotSpec
from gong.protocol.signing import signed_query
from gong.storage.accounts import Accounts

__all__ = [
    "DEMO_MESSAGE",
    "WEB_ADMIN",
    "Demo",
    "curl_command",
    "ensure_demo",
    "ensure_web_admin",
]

DEMO_GROUP = "Demo"
DEMO_ROBOT = "Demo robot"
DEMO_KEYWORD = "烟火"
#: The classic first message of every DingTalk robot tutorial.
DEMO_MESSAGE = '{"msgtype": "text","text": {"content":"我就是我, 是不一样的烟火"}}'
#: The web app account ``make run`` creates on a fresh database.
WEB_ADMIN = "admin"
#: The demo member the web admin is linked to, so "@ you" can be tried at once.
DEMO_ADMIN_MOBILE = "13800000001"


@dataclass(frozen=True, slots=True)
class Demo:
    group_id: int
    robot: Robot
    created: bool


def _demo_robot(group_id: int) -> RobotSpec:
    return RobotSpec(group_id, name=DEMO_ROBOT, keywords=[DEMO_KEYWORD], signing=True)


async def ensure_demo(groups: Groups, robots: Robots) -> Demo:
    """On a database with no groups, create the demo group, two members and a robot secured
    with a keyword and signing; otherwise find the demo robot again."""
    existing = await groups.list()
    if not existing:
        group = await groups.create(DEMO_GROUP)
        await groups.add_member(group.id, name="张三", mobile="13800000001", user_id="zhangsan")
        await groups.add_member(group.id, name="李四", mobile="13800000002", user_id="lisi")
        robot = await robots.create(_demo_robot(group.id))
        return Demo(group.id, robot, created=True)
    for group in existing:
        for robot in await robots.list(group.id):
            if robot.name == DEMO_ROBOT and robot.enabled:
                return Demo(group.id, robot, created=False)
    robot = await robots.create(_demo_robot(existing[0].id))
    return Demo(existing[0].id, robot, created=True)


def curl_command(settings: Settings, robot: Robot, clock: Clock, body: str = DEMO_MESSAGE) -> str:
    """A ready-to-paste curl line, signed now (valid for an hour) when the robot signs."""
    url = settings.webhook_url(robot.access_token)
    if robot.secret:
        url += "&" + signed_query(robot.secret, clock.now_ms())
    return f"curl -s {shlex.quote(url)} -H 'Content-Type: application/json' -d {shlex.quote(body)}"


async def ensure_web_admin(accounts: Accounts, groups: Groups, demo: Demo | None) -> str | None:
    """On a database without web accounts, create the admin account ``admin`` with a random
    password, linked to the demo group's first member; returns the password (the only time it
    is seen: only its hash is stored)."""
    if await accounts.user_count() > 0:
        return None
    password = secrets.token_urlsafe(12)
    user = await accounts.create_user(WEB_ADMIN, await hash_password(password), is_admin=True)
    if demo is not None:
        member = await groups.find_member(demo.group_id, mobile=DEMO_ADMIN_MOBILE)
        if member is not None:
            await accounts.link(user.id, member.id)
    return password
