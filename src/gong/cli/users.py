"""``gong user …``: web app accounts and their links to group members."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

from gong.cli.common import JsonOpt, emit, open_admin, out, run, table
from gong.domain.errors import Invalid, NotFound
from gong.domain.models import Member
from gong.domain.users import User, check_password
from gong.i18n import cli as _

if TYPE_CHECKING:
    from gong.administration import Administration
    from gong.storage.accounts import Accounts

__all__ = ["user_app", "user_json"]

user_app = typer.Typer(
    help=_("Web app accounts: create, list, link to group members."), no_args_is_help=True
)

MemberOpt = typer.Option(
    [],
    "--member",
    metavar="GROUP_ID:MOBILE",
    help=_("Link the account to the member of GROUP_ID with this mobile (or userId); repeat."),
)
PasswordStdinOpt = typer.Option(
    False, "--password-stdin", help=_("Read the password from the first line of stdin.")
)


def user_json(user: User, members: list[Member] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": user.id,
        "username": user.username,
        "admin": user.is_admin,
        "created_at": user.created_at,
        "last_login_at": user.last_login_at,
    }
    if members is not None:
        data["members"] = [{"id": m.id, "group_id": m.group_id, "name": m.name} for m in members]
    return data


def _accounts(admin: Administration) -> Accounts:
    # Imported here so commands that need no database start fast.
    from gong.clock import SystemClock
    from gong.storage.accounts import Accounts

    return Accounts(admin.engine, SystemClock())


async def _hash(password: str) -> str:
    from gong.domain.passwords import hash_password

    return await hash_password(password)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(
            _("Password"),
            hide_input=True,
            confirmation_prompt=_("Repeat for confirmation"),
        )
    return check_password(password)


async def _find_members(admin: Administration, specs: list[str]) -> list[Member]:
    found = []
    for spec in specs:
        group, sep, key = spec.partition(":")
        if not sep or not group.strip().isdigit() or not key.strip():
            raise Invalid(_.lazy("--member takes GROUP_ID:MOBILE, got %(spec)r", spec=spec))
        group_id = int(group)
        member = await admin.groups.find_member(group_id, mobile=key.strip())
        if member is None:
            member = next(
                (m for m in await admin.groups.members(group_id) if m.user_id == key.strip()), None
            )
        if member is None:
            raise NotFound(
                _.lazy(
                    "group %(group)s has no member with mobile or userId %(key)r",
                    group=group_id,
                    key=key.strip(),
                )
            )
        found.append(member)
    return found


@user_app.command(
    "create", help=_("Create a web app account (only the password's Argon2 hash is stored).")
)
def user_create(
    username: str,
    password_stdin: bool = PasswordStdinOpt,
    admin: bool = typer.Option(False, "--admin", help=_("An admin sees and manages every group.")),
    member: list[str] = MemberOpt,
    as_json: bool = JsonOpt,
) -> None:

    async def action() -> tuple[User, list[Member]]:
        password = _read_password(password_stdin)
        async with open_admin() as services:
            members = await _find_members(services, member)
            accounts = _accounts(services)
            user = await accounts.create_user(username, await _hash(password), is_admin=admin)
            for m in members:
                await accounts.link(user.id, m.id)
            return user, members

    user, members = run(action, as_json=as_json)
    emit(
        user_json(user, members),
        as_json=as_json,
        human=lambda: out.print(
            (
                _("account “%(name)s” created (admin)", name=user.username)
                if user.is_admin
                else _("account “%(name)s” created", name=user.username)
            )
            + "".join(
                _(", linked to %(member)s in group %(group)s", member=m.name, group=m.group_id)
                for m in members
            ),
            markup=False,
        ),
    )


@user_app.command("link", help=_("Link an account to group members (--member GROUP_ID:MOBILE)."))
def user_link(username: str, member: list[str] = MemberOpt, as_json: bool = JsonOpt) -> None:

    async def action() -> tuple[User, list[Member]]:
        async with open_admin() as services:
            accounts = _accounts(services)
            user = await accounts.find_user(username)
            if user is None:
                raise NotFound(_.lazy("there is no account called %(name)r", name=username))
            members = await _find_members(services, member)
            for m in members:
                await accounts.link(user.id, m.id)
            return user, await accounts.members_of(user.id)

    user, members = run(action, as_json=as_json)
    emit(
        user_json(user, members),
        as_json=as_json,
        human=lambda: out.print(
            _(
                "“%(name)s” is linked in %(count)s group(s)",
                name=user.username,
                count=len(members),
            ),
            markup=False,
        ),
    )


@user_app.command("password", help=_("Set a new password; the account's other sign-ins end."))
def user_password(
    username: str, password_stdin: bool = PasswordStdinOpt, as_json: bool = JsonOpt
) -> None:

    async def action() -> User:
        password = _read_password(password_stdin)
        async with open_admin() as services:
            accounts = _accounts(services)
            user = await accounts.find_user(username)
            if user is None:
                raise NotFound(_.lazy("there is no account called %(name)r", name=username))
            return await accounts.update_user(user.id, password_hash=await _hash(password))

    user = run(action, as_json=as_json)
    emit(
        user_json(user),
        as_json=as_json,
        human=lambda: out.print(
            _("password of “%(name)s” changed", name=user.username), markup=False
        ),
    )


@user_app.command("list", help=_("List the accounts and the members they are linked to."))
def user_list(as_json: bool = JsonOpt) -> None:

    async def action() -> list[tuple[User, list[Member]]]:
        async with open_admin() as services:
            accounts = _accounts(services)
            return [(u, await accounts.members_of(u.id)) for u in await accounts.list_users()]

    found = run(action, as_json=as_json)
    emit(
        [user_json(u, ms) for u, ms in found],
        as_json=as_json,
        human=lambda: table(
            [_("id"), _("username"), _("role"), _("linked members")],
            [
                (
                    u.id,
                    u.username,
                    _("admin") if u.is_admin else _("member"),
                    ", ".join(
                        _("%(member)s (group %(group)s)", member=m.name, group=m.group_id)
                        for m in ms
                    ),
                )
                for u, ms in found
            ],
        ),
    )


@user_app.command(
    "delete", help=_("Delete an account (its member links and read state go with it).")
)
def user_delete(username: str, as_json: bool = JsonOpt) -> None:

    async def action() -> User:
        async with open_admin() as services:
            accounts = _accounts(services)
            user = await accounts.find_user(username)
            if user is None:
                raise NotFound(_.lazy("there is no account called %(name)r", name=username))
            await accounts.delete_user(user.id)
            return user

    user = run(action, as_json=as_json)
    emit(
        {"id": user.id, "username": user.username, "deleted": True},
        as_json=as_json,
        human=lambda: out.print(_("account “%(name)s” deleted", name=user.username), markup=False),
    )
