"""``gong messages`` and ``gong refusals``: what groups were sent, and what robots were refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

import typer

from gong.cli.common import JsonOpt, emit, open_admin, run, shown, table
from gong.domain.hints import hint_text
from gong.domain.models import Refusal, StoredMessage
from gong.i18n import cli as _
from gong.schemas.records import MessageOut, RefusalOut

__all__ = ["local_time", "message_json", "messages_command", "refusals_command"]


def message_json(message: StoredMessage) -> dict[str, Any]:
    """The message as the management API shows it."""
    return shown(MessageOut.of(message))


def messages_command(
    group_id: int,
    limit: int = typer.Option(20, "--limit", min=1, max=1000, help=_("How many, newest first.")),
    before: int | None = typer.Option(
        None, "--before", help=_("Only messages older than this id.")
    ),
    as_json: bool = JsonOpt,
) -> None:

    async def action() -> list[StoredMessage]:
        async with open_admin() as admin:
            await admin.groups.get(group_id)
            return await admin.history.list_messages(group_id, before=before, limit=limit)

    messages = run(action, as_json=as_json)
    emit(
        [message_json(m) for m in messages],
        as_json=as_json,
        human=lambda: table(
            [_("id"), _("from"), _("msgtype"), _("title")],
            [
                (
                    m.id,
                    m.sender_name,
                    m.msgtype,
                    _("(recalled)") if m.recalled_at else _title(m.content),
                )
                for m in messages
            ],
        ),
    )


def _title(content: dict[str, Any] | None) -> str:
    from gong.protocol.messages import parse_message

    try:
        title = parse_message(content or {}).title()
    except Exception:
        return ""
    return title if len(title) <= 60 else title[:59] + "…"


def refusals_command(
    robot_id: int,
    limit: int = typer.Option(20, "--limit", min=1, max=500),
    as_json: bool = JsonOpt,
) -> None:

    async def action() -> list[Refusal]:
        async with open_admin() as admin:
            await admin.robots.get(robot_id)
            return await admin.history.list_refusals(robot_id, limit)

    refusals = run(action, as_json=as_json)
    emit(
        [shown(RefusalOut.of(r)) for r in refusals],
        as_json=as_json,
        human=lambda: table(
            [_("time"), _("ip"), _("errcode"), _("reason"), _("hint")],
            [(local_time(r.created_at), r.ip, r.errcode, r.reason, _hint(r)) for r in refusals],
        ),
    )


def _hint(refusal: Refusal) -> str:
    hint = hint_text(refusal.hint, refusal.hint_params)
    return hint.translated() if hint else ""


def local_time(ms: int) -> str:
    """Unix ms as local date and time, to the second."""
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")
