"""``gong group …`` and ``gong member …``."""

from __future__ import annotations

from typing import Any

import typer

from gong.cli.common import (
    JsonOpt,
    emit,
    label_width,
    labelled,
    open_admin,
    out,
    run,
    shown,
    table,
)
from gong.domain.models import Group, Member
from gong.i18n import cli as _
from gong.schemas.records import (
    GroupOut,
    MemberOut,
)

__all__ = ["group_app", "member_app"]

group_app = typer.Typer(help=_("Create, list and change groups."), no_args_is_help=True)
member_app = typer.Typer(
    help=_("Add, list and remove the members of a group."), no_args_is_help=True
)


def group_json(group: Group) -> dict[str, Any]:
    """The group as the management API shows it."""
    return shown(GroupOut.of(group))


def kept(group: Group) -> str:
    """How long the group keeps its messages, in words."""
    days, count = group.retention_days, group.retention_count
    if days is None and count is None:
        return _("forever")
    if count is None:
        return _.plural("%(n)s day", "%(n)s days", days or 0)
    newest = format(count, ",")
    if days is None:
        return _("the newest %(count)s", count=newest)
    return _.plural(
        "%(n)s day, at most the newest %(count)s",
        "%(n)s days, at most the newest %(count)s",
        days,
        count=newest,
    )


def member_json(member: Member) -> dict[str, Any]:
    """The member as the management API shows it."""
    return shown(MemberOut.of(member))


@group_app.command("create", help=_("Create a group; prints its id."))
def group_create(name: str, as_json: bool = JsonOpt) -> None:

    async def action() -> Group:
        async with open_admin() as admin:
            return await admin.groups.create(name)

    group = run(action, as_json=as_json)
    emit(
        {"id": group.id, "name": group.name},
        as_json=as_json,
        human=lambda: out.print(
            _("group %(id)s “%(name)s” created", id=group.id, name=group.name), markup=False
        ),
    )


@group_app.command("list", help=_("List every group, with how long it keeps its messages."))
def group_list(as_json: bool = JsonOpt) -> None:

    async def action() -> list[Group]:
        async with open_admin() as admin:
            return await admin.groups.list()

    groups = run(action, as_json=as_json)
    emit(
        [group_json(g) for g in groups],
        as_json=as_json,
        human=lambda: table(
            [_("id"), _("name"), _("dissolved"), _("keeps messages")],
            [(g.id, g.name, _yes_no(g.dissolved), kept(g)) for g in groups],
        ),
    )


@group_app.command(
    "show", help=_("Show a group: its name, time zone and how long it keeps its messages.")
)
def group_show(group_id: int, as_json: bool = JsonOpt) -> None:

    async def action() -> Group:
        async with open_admin() as admin:
            return await admin.groups.get(group_id)

    group = run(action, as_json=as_json)
    emit(group_json(group), as_json=as_json, human=lambda: _print_group(group))


def _yes_no(value: bool) -> str:
    """True or False in the table of groups, in the CLI's language."""
    return _("True") if value else _("False")


def _print_group(group: Group) -> None:
    zone = group.timezone or _("the server's time zone")
    if group.dissolved:
        out.print(
            _("group %(id)s “%(name)s” (dissolved)", id=group.id, name=group.name), markup=False
        )
    else:
        out.print(_("group %(id)s “%(name)s”", id=group.id, name=group.name), markup=False)
    times, keeps = _("times in:"), _("keeps messages:")
    width = label_width(times, keeps)
    out.print(labelled(times, zone, width), markup=False)
    out.print(labelled(keeps, kept(group), width), markup=False)


@group_app.command(
    "update", help=_("Rename a group, set its time zone, or how long it keeps its messages.")
)
def group_update(
    group_id: int,
    name: str | None = typer.Option(None, "--name", help=_("A new name.")),
    timezone: str | None = typer.Option(
        None,
        "--timezone",
        help=_(
            "The IANA time zone for times written into the group's messages, such as "
            "Asia/Shanghai. An empty value uses the server's (GONG_TIMEZONE)."
        ),
    ),
    retention_days: int | None = typer.Option(
        None,
        "--retention-days",
        help=_(
            "Keep messages this many days (0: forever). Running servers delete older ones in "
            "the background; `gong prune` does it at once."
        ),
    ),
    retention_count: int | None = typer.Option(
        None,
        "--retention-count",
        help=_("Keep only the newest this many messages (0: all of them)."),
    ),
    as_json: bool = JsonOpt,
) -> None:

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


@group_app.command("dissolve", help=_("Dissolve a group: its robots answer 400013 from now on."))
def group_dissolve(group_id: int, as_json: bool = JsonOpt) -> None:

    async def action() -> Group:
        async with open_admin() as admin:
            return await admin.groups.update(group_id, dissolved=True)

    group = run(action, as_json=as_json)
    emit(
        group_json(group),
        as_json=as_json,
        human=lambda: out.print(_("group %(id)s dissolved", id=group.id)),
    )


@member_app.command("add", help=_("Add a member to a group."))
def member_add(
    group_id: int,
    name: str = typer.Option(..., "--name", help=_("Display name.")),
    mobile: str | None = typer.Option(
        None, "--mobile", help=_("Mobile number, as used in atMobiles.")
    ),
    user_id: str | None = typer.Option(None, "--user-id", help=_("userId, as used in atUserIds.")),
    as_json: bool = JsonOpt,
) -> None:

    async def action() -> Member:
        async with open_admin() as admin:
            return await admin.groups.add_member(
                group_id, name=name, mobile=mobile, user_id=user_id
            )

    member = run(action, as_json=as_json)
    emit(
        member_json(member),
        as_json=as_json,
        human=lambda: out.print(
            _(
                "member %(id)s “%(name)s” added to group %(group)s",
                id=member.id,
                name=member.name,
                group=group_id,
            ),
            markup=False,
        ),
    )


@member_app.command("list", help=_("List a group's members."))
def member_list(group_id: int, as_json: bool = JsonOpt) -> None:

    async def action() -> list[Member]:
        async with open_admin() as admin:
            return await admin.groups.members(group_id)

    members = run(action, as_json=as_json)
    emit(
        [member_json(m) for m in members],
        as_json=as_json,
        human=lambda: table(
            [_("id"), _("name"), _("mobile"), _("userId")],
            [(m.id, m.name, m.mobile, m.user_id) for m in members],
        ),
    )


@member_app.command("remove", help=_("Remove a member."))
def member_remove(member_id: int, as_json: bool = JsonOpt) -> None:

    async def action() -> None:
        async with open_admin() as admin:
            await admin.groups.remove_member(member_id)

    run(action, as_json=as_json)
    emit(
        {"id": member_id, "removed": True},
        as_json=as_json,
        human=lambda: out.print(_("member %(id)s removed", id=member_id)),
    )
