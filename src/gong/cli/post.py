"""``gong post``: post into a group as a person, exactly as the web composer does (mentions,
outgoing robot callbacks), and ``gong outgoing``: a robot's callback log."""

from __future__ import annotations

import asyncio
from typing import Any

import typer

from gong.cli.common import JsonOpt, emit, out, run, settings, shown, table
from gong.domain.errors import NotFound
from gong.i18n import cli as _
from gong.schemas.records import (
    OutgoingCallOut,
)

__all__ = ["outgoing_command", "post_command"]


def post_command(
    group_id: int = typer.Argument(..., help=_("The group to post in.")),
    text: str = typer.Argument(..., help=_("The message; @name mentions a member or a robot.")),
    username: str = typer.Option(..., "--as", help=_("The account that posts (gong user list).")),
    markdown: bool = typer.Option(False, "--markdown", help=_("Send markdown instead of text.")),
    as_json: bool = JsonOpt,
) -> None:
    config = settings().model_copy(update={"relay_enabled": False})

    async def action() -> dict[str, Any]:
        from gong.domain.posting import compose
        from gong.protocol.messages import parse_message
        from gong.runtime import Runtime
        from gong.storage.accounts import Accounts

        runtime = await Runtime.open(config)
        try:
            user = await Accounts(runtime.engine, runtime.clock).find_user(username)
            if user is None:
                raise NotFound(_.lazy("no account %(name)r (gong user list)", name=username))
            group, member = await runtime.inbox.visible_group(user, group_id)
            members = await runtime.groups.members(group.id)
            message = parse_message(compose(text, members, markdown=markdown))
            posted = await runtime.posting.post(
                user=user, group=group, member=member, message=message
            )
            limit = config.outgoing_attempts * (
                config.outgoing_timeout_seconds + config.outgoing_backoff_seconds * 4
            )
            if posted.callbacks:
                await asyncio.wait(posted.callbacks, timeout=limit + 5)
            names = {r.id: r.name for r in posted.robots}
            calls = [
                {"robot": names.get(c.robot_id, ""), **shown(OutgoingCallOut.of(c))}
                for task in posted.callbacks
                if task.done() and not task.cancelled() and (c := task.result()) is not None
            ]
            return {"id": posted.message_id, "group_id": group.id, "callbacks": calls}
        finally:
            await runtime.close()

    result = run(action, as_json=as_json)

    def human() -> None:
        out.print(
            _("posted message %(id)s in group %(group)s", id=result["id"], group=result["group_id"])
        )
        for call in result["callbacks"]:
            if call["state"] == "answered":
                outcome = _("answered (message %(id)s)", id=call["answer_message_id"])
            elif call["state"] == "no_answer":
                outcome = _("no answer (empty)")
            else:
                outcome = _("failed: %(error)s", error=call["error"])
            out.print(f"  {call['robot']}: {outcome}", markup=False)

    emit(result, as_json=as_json, human=human)


def outgoing_command(
    robot_id: int = typer.Argument(..., help=_("The robot.")),
    limit: int = typer.Option(50, "--limit", min=1, max=500),
    as_json: bool = JsonOpt,
) -> None:
    from gong.cli.common import open_admin
    from gong.storage.outgoing import OutgoingStore

    async def action() -> list[dict[str, Any]]:
        async with open_admin() as admin:
            await admin.robots.get(robot_id)
            calls = await OutgoingStore(admin.engine).calls(robot_id, limit=limit)
        return [shown(OutgoingCallOut.of(c)) for c in calls]

    calls = run(action, as_json=as_json)
    emit(
        calls,
        as_json=as_json,
        human=lambda: table(
            [
                _("id"),
                _("message"),
                _("state"),
                _("attempts"),
                _("HTTP"),
                _("ms"),
                _("answer"),
                _("error"),
            ],
            [
                (
                    c["id"],
                    c["message_id"],
                    c["state"],
                    c["attempts"],
                    c["http_status"],
                    c["duration_ms"],
                    c["answer_message_id"],
                    c["error"],
                )
                for c in calls
            ],
        ),
    )
