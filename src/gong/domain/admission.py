"""Who may post into a group right now: the one rule every way of posting applies.

A robot's call (``/robot/send``, ``sendBySession``, an integration's delivery) is refused while the
robot is disabled (400102) or its group is dissolved (400013); a person's post is refused while
the group is dissolved. Robots get the refusal as DingTalk's error; people as a
:class:`~gong.domain.errors.Invalid` naming the group.
"""

from __future__ import annotations

from gong.domain.errors import Invalid
from gong.domain.models import Group, Robot
from gong.i18n import core
from gong.protocol.errors import ErrorCode, Errors, RobotError

__all__ = ["admit", "admit_person", "refusal"]


def refusal(group: Group, robot: Robot | None = None) -> ErrorCode | None:
    """Why a post into ``group`` (by ``robot``, or by a person when None) is refused now."""
    if robot is not None and not robot.enabled:
        return Errors.ROBOT_DISABLED
    if group.dissolved:
        return Errors.GROUP_DISSOLVED
    return None


def admit(group: Group, robot: Robot) -> None:
    """Raises :class:`~gong.protocol.errors.RobotError` when the robot may not post now."""
    error = refusal(group, robot)
    if error is not None:
        raise RobotError(error)


def admit_person(group: Group) -> None:
    """Raises :class:`~gong.domain.errors.Invalid` when nobody may post in the group now."""
    if refusal(group) is not None:
        raise Invalid(core.lazy("group %(id)s is dissolved; nobody can post in it", id=group.id))
