"""The changes ``gong apply`` makes, each shown as a line of the diff and made through the
administration services.

A :class:`Change` says what changes (``+`` create, ``~`` change, ``-`` delete) and, field by
field, from what to what, secrets masked; its :class:`Step` makes it. Steps name records by the
ids the rehearsal (:mod:`gong.configfile.rehearsal`) gave them: a record made earlier in the
same run has a negative id there, which :class:`Target` maps to the stored one.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gong.administration import Administration
from gong.domain.errors import GongError, NotFound
from gong.domain.groups import Groups
from gong.domain.robot_admin import Robots
from gong.domain.specs import RobotPatch, RobotSpec
from gong.i18n import core
from gong.storage.accounts import Accounts

__all__ = [
    "Action",
    "AddMember",
    "ApplyFailed",
    "Change",
    "CreateAccount",
    "CreateGroup",
    "CreateRobot",
    "CreatedRobot",
    "DeleteAccount",
    "DeleteRobot",
    "FieldChange",
    "Link",
    "Plan",
    "RemoveMember",
    "ReplaceMember",
    "Step",
    "Target",
    "Unlink",
    "UpdateAccount",
    "UpdateGroup",
    "UpdateRobot",
    "apply",
    "execute",
]


class Action(enum.StrEnum):
    CREATE = "create"
    CHANGE = "change"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field's value before and after (``None``: not set); a secret is ``***``, or the
    ``${VARIABLE}`` the file reads it from."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class CreatedRobot:
    """A robot the run made: its webhook's token and its signing secret, shown once."""

    group: str
    robot: str
    id: int
    access_token: str
    secret: str | None


@dataclass(slots=True)
class Target:
    """The real services the steps use, and the stored ids of what the run made."""

    groups: Groups
    robots: Robots
    accounts: Accounts
    group_ids: dict[int, int] = field(default_factory=dict)
    member_ids: dict[int, int] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)
    created: list[CreatedRobot] = field(default_factory=list)

    def group(self, group_id: int) -> int:
        return self.group_ids.get(group_id, group_id)

    def member(self, member_id: int) -> int:
        return self.member_ids.get(member_id, member_id)

    async def user(self, username: str) -> int:
        if username not in self.user_ids:
            user = await self.accounts.find_user(username)
            if user is None:
                raise NotFound(core.lazy("there is no account called %(name)r", name=username))
            self.user_ids[username] = user.id
        return self.user_ids[username]


class Step(Protocol):
    async def run(self, target: Target) -> None:
        """Make the change."""
        ...


@dataclass(frozen=True, slots=True)
class Change:
    action: Action
    #: ``group``, ``member``, ``robot``, ``account`` or ``link``.
    subject: str
    #: The group, ``group/member``, ``group/robot``, the username, or ``username → group/member``.
    name: str
    fields: tuple[FieldChange, ...]
    step: Step = field(repr=False, compare=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "action": str(self.action),
            "subject": self.subject,
            "name": self.name,
            "fields": [dataclasses.asdict(f) for f in self.fields],
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """What applying the file changes, in the order it is done."""

    changes: tuple[Change, ...]

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action is action)


class ApplyFailed(Exception):
    """A change was refused while applying (after a rehearsal that passed: the data changed
    meanwhile); the changes before it were made."""

    def __init__(self, done: Sequence[Change], change: Change, error: GongError) -> None:
        super().__init__(f"{change.subject} {change.name}: {error.message}")
        self.done = list(done)
        self.change = change
        self.error = error


async def apply(plan: Plan, admin: Administration, accounts: Accounts) -> list[CreatedRobot]:
    """Make the changes of ``plan`` with the services of ``admin``; returns the robots made.

    Raises:
        ApplyFailed: a change was refused; the ones before it stay made.
    """
    return await execute(plan, Target(admin.groups, admin.robots, accounts))


async def execute(plan: Plan, target: Target) -> list[CreatedRobot]:
    """Make each change of ``plan`` in order; returns the robots made.

    Raises:
        ApplyFailed: a change was refused; the ones before it stay made.
    """
    for index, change in enumerate(plan.changes):
        try:
            await change.step.run(target)
        except GongError as exc:
            raise ApplyFailed(plan.changes[:index], change, exc) from exc
    return target.created


# -- groups and members ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateGroup:
    ref: int
    name: str
    settings: dict[str, Any]

    async def run(self, target: Target) -> None:
        group = await target.groups.create(self.name)
        target.group_ids[self.ref] = group.id
        if self.settings:
            await target.groups.update(group.id, **self.settings)


@dataclass(frozen=True, slots=True)
class UpdateGroup:
    group_id: int
    settings: dict[str, Any]

    async def run(self, target: Target) -> None:
        await target.groups.update(target.group(self.group_id), **self.settings)


@dataclass(frozen=True, slots=True)
class AddMember:
    ref: int
    group_id: int
    name: str
    mobile: str | None
    user_id: str | None

    async def run(self, target: Target) -> None:
        member = await target.groups.add_member(
            target.group(self.group_id), name=self.name, mobile=self.mobile, user_id=self.user_id
        )
        target.member_ids[self.ref] = member.id


@dataclass(frozen=True, slots=True)
class ReplaceMember:
    """A member's name, mobile or userId changes: it is removed and added again, and the
    account linked to it is linked to the new one."""

    member_id: int
    ref: int
    group_id: int
    name: str
    mobile: str | None
    user_id: str | None

    async def run(self, target: Target) -> None:
        group_id = target.group(self.group_id)
        linked = (await target.accounts.users_of_group(group_id)).get(self.member_id)
        await target.groups.remove_member(self.member_id)
        member = await target.groups.add_member(
            group_id, name=self.name, mobile=self.mobile, user_id=self.user_id
        )
        target.member_ids[self.ref] = target.member_ids[self.member_id] = member.id
        if linked is not None:
            await target.accounts.link(linked.id, member.id)


@dataclass(frozen=True, slots=True)
class RemoveMember:
    member_id: int

    async def run(self, target: Target) -> None:
        await target.groups.remove_member(target.member(self.member_id))


# -- robots ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateRobot:
    ref: int
    group: str
    spec: RobotSpec

    async def run(self, target: Target) -> None:
        spec = dataclasses.replace(self.spec, group_id=target.group(self.spec.group_id))
        robot = await target.robots.create(spec)
        target.created.append(
            CreatedRobot(self.group, robot.name, robot.id, robot.access_token, robot.secret)
        )


@dataclass(frozen=True, slots=True)
class UpdateRobot:
    robot_id: int
    patch: RobotPatch

    async def run(self, target: Target) -> None:
        await target.robots.update(self.robot_id, self.patch)


@dataclass(frozen=True, slots=True)
class DeleteRobot:
    robot_id: int

    async def run(self, target: Target) -> None:
        await target.robots.delete(self.robot_id)


# -- accounts -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateAccount:
    username: str
    password: str = field(repr=False)
    admin: bool

    async def run(self, target: Target) -> None:
        from gong.domain.passwords import hash_password

        hashed = await hash_password(self.password)
        user = await target.accounts.create_user(self.username, hashed, is_admin=self.admin)
        target.user_ids[self.username] = user.id


@dataclass(frozen=True, slots=True)
class UpdateAccount:
    user_id: int
    admin: bool

    async def run(self, target: Target) -> None:
        await target.accounts.update_user(self.user_id, is_admin=self.admin)


@dataclass(frozen=True, slots=True)
class DeleteAccount:
    user_id: int

    async def run(self, target: Target) -> None:
        await target.accounts.delete_user(self.user_id)


@dataclass(frozen=True, slots=True)
class Link:
    username: str
    member_id: int

    async def run(self, target: Target) -> None:
        user_id = await target.user(self.username)
        await target.accounts.link(user_id, target.member(self.member_id))


@dataclass(frozen=True, slots=True)
class Unlink:
    member_id: int

    async def run(self, target: Target) -> None:
        await target.accounts.unlink(target.member(self.member_id))
