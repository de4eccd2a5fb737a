"""``gong group …`` and ``gong member …``."""

from __future__ import annotations

from typing import Any

import typer

from gong.cli.common import JsonOpt, emit, open_admin, out, run, shown, table
from gong.domain.models import Group, Member
from gong.schemas.records import (
    GroupOut,
    MemberOut,
)

__all__ = ["group_app", "member_app"]

group_app = typer.Typer(help="Create, list and change groups.", no_args_is_help=True)
member_app = typer.Typer(help="Add, list and remove the members of a group.", no_args_is_help=True)


def group_json(group: Group) -> dict[str, Any]:
    """The group as the management API shows it."""
    return shown(GroupOut.of(group))


def kept(group: Group) -> str:
    """How long the group keeps its messages, in words."""
    days, count = group.retention_days, group.retention_count
    if days is None and count is None:
        return "forever"
    parts = [] if days is None else [f"{days} day" + ("" if days == 1 else "s")]
    parts += [] if count is None else [f"the newest {count:,}"]
    return ", at most ".join(parts)


def member_json(member: Member) -> dict[str, Any]:
    """The member as the management API shows it."""
    return shown(MemberOut.of(member))


@group_app.command("create")
def group_create(name: str, as_json: bool = JsonOpt) -> None:
    """Create a group; prints its id."""

    async def action() -> Group:
        async with open_admin() as admin:
            return await admin.groups.create(name)

    group = run(action, as_json=as_json)
    emit(
        {"id": group.id, "name": group.name},
        as_json=as_json,
        human=lambda: out.print(f"group {group.id} “{group.name}” created"),
    )


@group_app.command("list")
def group_list(as_json: bool = JsonOpt) -> None:
    """List every group, with how long it keeps its messages."""

    async def action() -> list[Group]:
        async with open_admin() as admin:
            return await admin.groups.list()

    groups = run(action, as_json=as_json)
    emit(
        [group_json(g) for g in groups],
        as_json=as_json,
        human=lambda: table(
            ["id", "name", "dissolved", "keeps messages"],
            [(g.id, g.name, g.dissolved, kept(g)) for g in groups],
        ),
    )


@group_app.command("show")
def group_show(group_id: int, as_json: bool = JsonOpt) -> None:
    """Show a group: its name, time zone and how long it keeps its messages."""

    async def action() -> Group:
        async with open_admin() as admin:
            return await admin.groups.get(group_id)

    group = run(action, as_json=as_json)
    emit(group_json(group), as_json=as_json, human=lambda: _print_group(group))


def _print_group(group: Group) -> None:
    zone = group.timezone or "the server's time zone"
    dissolved = " (dissolved)" if group.dissolved else ""
    out.print(f"group {group.id} “{group.name}”{dissolved}", markup=False)
    out.print(f"  times in:        {zone}", markup=False)
    out.print(f"  keeps messages:  {kept(group)}", markup=False)


@group_app.command("update")
def group_update(
    group_id: int,
    name: str | None = typer.Option(None, "--name", help="A new name."),
    timezone: str | None = typer.Option(
        None,
        "--timezone",
        help="The IANA time zone for times written into the group's messages, such as "
        "Asia/Shanghai. An empty value uses the server's (GONG_TIMEZONE).",
    ),
    retention_days: int | None = typer.Option(
        None,
        "--retention-days",
        help="Keep messages this many days (0: forever). Running servers delete older ones in "
        "the background; `gong prune` does it at once.",
    ),
    retention_count: int | None = typer.Option(
        None,
        "--retention-count",
        help="Keep only the newest this many messages (0: all of them).",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Rename a group, set its time zone, or how long it keeps its messages."""

    async def action() -> Group:
        async with open_admin() as admin:
            return await admin.groups.update(
                group_id,
                name=name,
                timezone=timezone,
                retention_days=retention_days,
                retention_count=retention_count,
            )

    group = run(action, as_json=as_json)
    emit(group_json(group), as_json=as_json, human=lambda: _print_group(group))


@group_app.command("dissolve")
def group_dissolve(group_id: int, as_json: bool = JsonOpt) -> None:
    """Dissolve a group: its robots answer 400013 from now on."""

    async def action() -> Group:
        async with open_admin() as admin:
            return await admin.groups.update(group_id, dissolved=True)

    group = run(action, as_json=as_json)
    emit(group_json(group), as_json=as_json, human=lambda: out.print(f"group {group.id} dissolved"))


@member_app.command("add")
def member_add(
    group_id: int,
    name: str = typer.Option(..., "--name", help="Display name."),
    mobile: str | None = typer.Option(
        None, "--mobile", help="Mobile number, as used in atMobiles."
    ),
    user_id: str | None = typer.Option(None, "--user-id", help="userId, as used in atUserIds."),
    as_json: bool = JsonOpt,
) -> None:
    """Add a member to a group."""

    async def action() -> Member:
        async with open_admin() as admin:
            return await admin.groups.add_member(
                group_id, name=name, mobile=mobile, user_id=user_id
            )

    member = run(action, as_json=as_json)
    emit(
        member_json(member),
        as_json=as_json,
        human=lambda: out.print(f"member {member.id} “{member.name}” added to group {group_id}"),
    )


@member_app.command("list")
def member_list(group_id: int, as_json: bool = JsonOpt) -> None:
    """List a group's members."""

    async def action() -> list[Member]:
        async with open_admin() as admin:
            return await admin.groups.members(group_id)

    members = run(action, as_json=as_json)
    emit(
        [member_json(m) for m in members],
        as_json=as_json,
        human=lambda: table(
            ["id", "name", "mobile", "userId"],
            [(m.id, m.name, m.mobile, m.user_id) for m in members],
        ),
    )


@member_app.command("remove")
def member_remove(member_id: int, as_json: bool = JsonOpt) -> None:
    """Remove a member."""

    async def action() -> None:
        async with open_admin() as admin:
            await admin.groups.remove_member(member_id)

    run(action, as_json=as_json)
    emit(
        {"id": member_id, "removed": True},
        as_json=as_json,
        human=lambda: out.print(f"member {member_id} removed"),
    )
