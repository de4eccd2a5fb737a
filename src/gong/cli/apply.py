"""``gong apply FILE`` and ``gong export [FILE]``: groups, members, robots and accounts as one
YAML file (:mod:`gong.configfile` does the work; this reads options and prints)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import orjson
import typer
from rich.text import Text as Styled

from gong.cli.common import JsonOpt, emit, err, fail, fail_all, open_admin, out, run, settings
from gong.i18n import cli as _

if TYPE_CHECKING:
    from gong.administration import Administration
    from gong.config import Settings
    from gong.configfile import (
        ApplyFailed,
        Change,
        CreatedRobot,
        Document,
        FieldChange,
        Plan,
        Problem,
    )
    from gong.storage.accounts import Accounts

__all__ = ["apply_command", "export_command"]

_SIGNS = {"create": ("+", "green"), "change": ("~", "yellow"), "delete": ("-", "red")}


def _accounts(admin: Administration) -> Accounts:
    from gong.clock import SystemClock
    from gong.storage.accounts import Accounts

    return Accounts(admin.engine, SystemClock())


def _subject(subject: str) -> str:
    names = {
        "group": _("group"),
        "member": _("member"),
        "robot": _("robot"),
        "account": _("account"),
        "link": _("link"),
    }
    return names.get(subject, subject)


def _value(value: Any) -> str:
    """A value in the diff: text as it is (quoted when empty or padded), others as JSON."""
    if value is None:
        return _("(none)")
    if isinstance(value, str) and value and value.strip() == value:
        return value
    return orjson.dumps(value).decode()


def _field(change: FieldChange, created: bool) -> str:
    if created:
        return f"    {change.field}: {_value(change.new)}"
    return f"    {change.field}: {_value(change.old)} → {_value(change.new)}"


def _print_changes(plan: Plan) -> None:
    for change in plan.changes:
        sign, colour = _SIGNS[str(change.action)]
        line = f"{sign} {_subject(change.subject)} {change.name}"
        out.print(Styled(line, style=colour))
        created = str(change.action) == "create"
        for field in change.fields:
            out.print(_field(field, created), markup=False, highlight=False)


def _counts(plan: Plan) -> dict[str, int]:
    from gong.configfile import Action

    return {str(action): plan.count(action) for action in Action}


def _created_json(robots: list[CreatedRobot], config: Settings) -> list[dict[str, Any]]:
    return [
        {
            "group": r.group,
            "robot": r.robot,
            "id": r.id,
            "webhook": config.webhook_url(r.access_token),
            "secret": r.secret,
        }
        for r in robots
    ]


def _print_created(robots: list[CreatedRobot], config: Settings) -> None:
    if not robots:
        return
    out.print(_("Webhooks and secrets of the new robots (shown only now):"), markup=False)
    for robot in robots:
        out.print(f"  {robot.group}/{robot.robot} (id {robot.id})", markup=False)
        out.print(f"    webhook: {config.webhook_url(robot.access_token)}", markup=False)
        if robot.secret:
            out.print(f"    secret:  {robot.secret}", markup=False)


def _problems(problems: list[Problem], as_json: bool) -> NoReturn:
    """Print every fault of the file and exit 1."""
    if as_json:
        data = {
            "error": {
                "code": "invalid_file",
                "message": str(problems[0]),
                "problems": [p.as_json() for p in problems],
            }
        }
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
        raise typer.Exit(1)
    fail_all([p.translated() for p in problems])
    raise AssertionError("unreachable")


def _read(file: Path, as_json: bool) -> Document:
    from gong.configfile import FileErrors, parse

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(_.lazy("cannot read %(path)s: %(error)s", path=file, error=exc), as_json=as_json)
        raise AssertionError("unreachable") from None
    try:
        return parse(text, str(file), os.environ)
    except FileErrors as exc:
        _problems(exc.problems, as_json)


def apply_command(
    file: Path = typer.Argument(..., help=_("The configuration file (YAML).")),
    dry_run: bool = typer.Option(
        False, "--dry-run", help=_("Print what would change, and change nothing.")
    ),
    prune: bool = typer.Option(
        False,
        "--prune",
        help=_(
            "Also delete the members, robots, accounts and links the file does not name, and "
            "dissolve the groups it does not name; asks first."
        ),
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help=_("Do not ask before deleting.")),
    as_json: bool = JsonOpt,
) -> None:
    from gong.configfile import Action, ApplyFailed, FileErrors, apply, plan

    if prune and as_json and not yes and not dry_run:
        fail(
            _.lazy("--prune with --json cannot ask before deleting: add --yes"),
            code="confirmation_needed",
            as_json=True,
        )
    document = _read(file, as_json)
    config = settings()

    async def action() -> tuple[Plan, list[CreatedRobot] | None]:
        async with open_admin(config) as admin:
            accounts = _accounts(admin)
            changes = await plan(admin, accounts, document, prune=prune)
            if not as_json:
                _print_changes(changes)
            if dry_run or not changes.changes:
                return changes, None
            deleted = changes.count(Action.DELETE)
            if deleted and not yes:
                question = _("Apply these changes? %(count)s of them delete.", count=deleted)
                if not typer.confirm(question, default=False):
                    err.print(_("Nothing was changed."), markup=False)
                    raise typer.Exit(1)
            return changes, await apply(changes, admin, accounts)

    try:
        changes, created = run(action, as_json=as_json)
    except FileErrors as exc:
        _problems(exc.problems, as_json)
    except ApplyFailed as exc:
        _failed(exc, as_json)
    counts = _counts(changes)
    emit(
        {
            "dry_run": dry_run,
            "changed": created is not None,
            "counts": counts,
            "changes": [c.as_json() for c in changes.changes],
            "created": _created_json(created or [], config),
        },
        as_json=as_json,
        human=lambda: _summary(changes, counts, created, dry_run, str(file), config),
    )


def _summary(
    changes: Plan,
    counts: dict[str, int],
    created: list[CreatedRobot] | None,
    dry_run: bool,
    file: str,
    config: Settings,
) -> None:
    if not changes.changes:
        out.print(_("No changes: everything is as %(file)s says.", file=file), markup=False)
        return
    numbers = _(
        "%(create)s to create, %(change)s to change, %(delete)s to delete.",
        create=counts["create"],
        change=counts["change"],
        delete=counts["delete"],
    )
    if dry_run:
        out.print(numbers + " " + _("Dry run: nothing was changed."), markup=False)
        return
    out.print(
        _(
            "Applied: %(create)s created, %(change)s changed, %(delete)s deleted.",
            create=counts["create"],
            change=counts["change"],
            delete=counts["delete"],
        ),
        markup=False,
    )
    _print_created(created or [], config)


def _failed(exc: ApplyFailed, as_json: bool) -> NoReturn:
    """A change refused while applying: what was made before it, and why it was refused."""
    change: Change = exc.change
    message = _.lazy(
        "%(done)s change(s) were made, then %(subject)s %(name)s was refused: %(error)s",
        done=len(exc.done),
        subject=_subject(change.subject),
        name=change.name,
        error=exc.error.text,
    )
    fail(message, code=exc.error.code, as_json=as_json)
    raise AssertionError("unreachable")


def export_command(
    file: Path | None = typer.Argument(None, help=_("Write the file here (default: print it).")),
) -> None:
    from gong.configfile import export

    async def action() -> str:
        async with open_admin() as admin:
            return await export(admin, _accounts(admin))

    text = run(action)
    if file is None:
        sys.stdout.write(text)
        return
    try:
        file.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(_.lazy("cannot write %(path)s: %(error)s", path=file, error=exc))
    out.print(_("Written to %(path)s.", path=file), markup=False)
