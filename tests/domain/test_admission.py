"""Who may post into a group right now (:mod:`gong.domain.admission`): a disabled robot is
refused with 400102, any robot of a dissolved group with 400013, and a person posting into a
dissolved group with :class:`~gong.domain.errors.Invalid` — first on the records alone, then on
what the administration services stored."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.admission import admit, admit_person, refusal
from gong.domain.errors import Invalid
from gong.domain.groups import Groups
from gong.domain.models import Group, Overflow, RateLimit, Robot, RobotKind
from gong.domain.robot_admin import Robots
from gong.domain.specs import RobotSpec
from gong.protocol.errors import Dialect, Errors, RobotError
from gong.storage.groups import SqlGroups
from gong.storage.robots import SqlRobots
from tests.domain.admin_parts import migrated

GROUP = Group(id=7, name="ops", dissolved=False, created_at=0)
ROBOT = Robot(
    id=3,
    group_id=7,
    name="ci",
    kind=RobotKind.CUSTOM,
    access_token="a" * 64,
    secret=None,
    keywords=("CI",),
    ip_allow=(),
    enabled=True,
    rate_limit=RateLimit(),
    overflow=Overflow.REJECT,
    avatar_url="",
    settings={},
    created_at=0,
    updated_at=0,
)
DISSOLVED = replace(GROUP, dissolved=True)
DISABLED = replace(ROBOT, enabled=False)


def test_an_enabled_robot_of_a_live_group_and_its_people_are_admitted() -> None:
    assert refusal(GROUP, ROBOT) is None
    assert refusal(GROUP) is None
    admit(GROUP, ROBOT)
    admit_person(GROUP)


@pytest.mark.parametrize(
    ("group", "robot", "error", "code"),
    [
        (GROUP, DISABLED, Errors.ROBOT_DISABLED, 400102),
        (DISSOLVED, ROBOT, Errors.GROUP_DISSOLVED, 400013),
        # Both: the robot's own state is what it hears about.
        (DISSOLVED, DISABLED, Errors.ROBOT_DISABLED, 400102),
    ],
)
def test_a_robot_is_refused_while_disabled_or_its_group_is_dissolved(
    group: Group, robot: Robot, error: object, code: int
) -> None:
    assert refusal(group, robot) is error
    with pytest.raises(RobotError) as raised:
        admit(group, robot)
    assert raised.value.error is error
    assert raised.value.errcode(Dialect.MODERN) == code


def test_a_person_is_refused_only_by_a_dissolved_group() -> None:
    # A disabled robot does not stop people: refusal without a robot asks about the group only.
    assert refusal(DISSOLVED) is Errors.GROUP_DISSOLVED
    with pytest.raises(Invalid, match="group 7 is dissolved; nobody can post in it"):
        admit_person(DISSOLVED)


async def test_admission_follows_what_the_services_stored(
    sqlite_settings: Settings, clock: ManualClock
) -> None:
    async with migrated(sqlite_settings) as engine:
        group_store = SqlGroups(engine)
        groups = Groups(group_store, clock)
        robots = Robots(SqlRobots(engine), group_store, clock)
        group = await groups.create("ops")
        robot = await robots.create(RobotSpec(group.id, "ci", keywords=["CI"]))
        admit(await groups.get(group.id), await robots.get(robot.id))

        await robots.set_enabled(robot.id, False)
        assert refusal(await groups.get(group.id), await robots.get(robot.id)) is (
            Errors.ROBOT_DISABLED
        )
        admit_person(await groups.get(group.id))

        await robots.set_enabled(robot.id, True)
        await groups.update(group.id, dissolved=True)
        assert refusal(await groups.get(group.id), await robots.get(robot.id)) is (
            Errors.GROUP_DISSOLVED
        )
        with pytest.raises(Invalid, match="dissolved"):
            admit_person(await groups.get(group.id))

        await groups.update(group.id, dissolved=False)
        admit(await groups.get(group.id), await robots.get(robot.id))
        admit_person(await groups.get(group.id))
