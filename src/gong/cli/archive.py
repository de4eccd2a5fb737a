"""``gong message recall``, ``gong messages export`` and ``gong prune``: what happens to
messages after they are posted (:class:`gong.domain.history.Archive`)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import enum
import io
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson
import typer
from typer.core import TyperGroup

from gong.cli.common import JsonOpt, emit, err, fail, open_admin, out, run, shown, when_ms
from gong.cli.history import local_time, messages_command
from gong.domain.history import Actor, PruneReport
from gong.domain.models import StoredMessage
from gong.i18n import cli as _
from gong.schemas.records import MessageOut

__all__ = ["CSV_COLUMNS", "message_app", "messages_app", "prune_command"]

#: The columns of ``gong messages export --format csv``, in order.
CSV_COLUMNS = (
    "id",
    "created_at",
    "group_id",
    "sender_type",
    "sender_name",
    "robot_id",
    "msgtype",
    "title",
    "text",
    "recalled",
)

_FORMAT_HELP = _(
    "ndjson: one message per line as the API shows it; csv: %(columns)s (created_at in ISO "
    "8601, UTC).",
    columns=", ".join(CSV_COLUMNS),
)

#: Who the audit record of a recall made here names.
CLI_ACTOR = Actor.admin("cli")


class _ListUnlessNamed(TyperGroup):
    """``gong messages GROUP_ID …`` lists, as it always has; ``gong messages export …`` (a
    subcommand's name first) runs that subcommand."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: typer's click Context
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["list", *args]
        return super().parse_args(ctx, args)


messages_app = typer.Typer(
    cls=_ListUnlessNamed,
    help=_(
        "A group's messages: `gong messages GROUP_ID` lists them (newest first, a page at a "
        "time); `gong messages export GROUP_ID` writes all of them."
    ),
    no_args_is_help=True,
)
messages_app.command(
    "list",
    help=_("List a group's messages, newest first, each with its msgtype and payload as sent."),
)(messages_command)

message_app = typer.Typer(help=_("One message: recall it."), no_args_is_help=True)


# -- recall ------------------------------------------------------------------------------------


@message_app.command(
    "recall",
    help=_(
        "Recall a message for everyone, as an admin.\n\n"
        "Its content leaves storage and the search index, pending relay copies are cancelled, "
        "and who recalled it (`cli`) and when are kept on it."
    ),
)
def recall_command(message_id: int = typer.Argument(..., min=1), as_json: bool = JsonOpt) -> None:

    async def action() -> StoredMessage:
        async with open_admin() as admin:
            return await admin.archive.recall(message_id, CLI_ACTOR)

    message = run(action, as_json=as_json)
    emit(
        shown(MessageOut.of(message)),
        as_json=as_json,
        human=lambda: out.print(
            _(
                "message %(id)s in group %(group)s recalled at %(time)s",
                id=message.id,
                group=message.group_id,
                time=local_time(message.recalled_at),
            )
            if message.recalled_at
            else _(
                "message %(id)s in group %(group)s recalled",
                id=message.id,
                group=message.group_id,
            )
        ),
    )


# -- export ------------------------------------------------------------------------------------


class ExportFormat(enum.StrEnum):
    NDJSON = "ndjson"
    CSV = "csv"


@messages_app.command(
    "export",
    help=_(
        "Write every message of a group, oldest first, with no cap.\n\n"
        "Messages are read and written a batch at a time, so memory stays flat however long "
        "the history. Notes meant for one account are left out; recalled messages are there "
        "without their content."
    ),
)
def export_command(
    group_id: int = typer.Argument(..., min=1),
    since: int | None = typer.Option(
        None,
        "--since",
        parser=when_ms,
        metavar="WHEN",
        help=_(
            "Only messages posted at or after: 2026-12-01, 2026-12-01T08:00 (local time) or "
            "unix ms."
        ),
    ),
    fmt: ExportFormat = typer.Option(
        ExportFormat.NDJSON,
        "--format",
        help=_FORMAT_HELP,
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", dir_okay=False, help=_("Write to this file instead of stdout.")
    ),
) -> None:

    async def action() -> int:
        async with open_admin() as admin:
            await admin.groups.get(group_id)  # NotFound before any file is made
            count = 0
            with _sink(output) as binary:
                write, done = _writer(fmt, binary)
                async for message in admin.archive.export(group_id, since):
                    write(message)
                    count += 1
                done()
            return count

    try:
        count = run(action)
    except BrokenPipeError:  # the reader stopped early (`| head`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(1) from None
    except OSError as exc:
        fail(
            _.lazy("cannot write %(output)s: %(error)s", output=output, error=exc.strerror or exc)
            if output is not None
            else _.lazy("cannot write to stdout: %(error)s", error=exc.strerror or exc)
        )
        return
    if output is not None:
        err.print(
            _(
                "%(messages)s of group %(group)s written to %(output)s",
                messages=_messages(count),
                group=group_id,
                output=output,
            ),
            markup=False,
            soft_wrap=True,
        )


@contextlib.contextmanager
def _sink(output: Path | None) -> Iterator[IO[bytes]]:
    if output is None:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with output.open("wb") as file:
        yield file


def _writer(
    fmt: ExportFormat, binary: IO[bytes]
) -> tuple[Callable[[StoredMessage], None], Callable[[], None]]:
    """How one message is written, and what ends the output."""
    if fmt is ExportFormat.NDJSON:

        def ndjson(message: StoredMessage) -> None:
            binary.write(orjson.dumps(shown(MessageOut.of(message))) + b"\n")

        return ndjson, binary.flush
    text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
    rows = csv.writer(text)
    rows.writerow(CSV_COLUMNS)

    def row(message: StoredMessage) -> None:
        rows.writerow(_csv_row(message))

    def done() -> None:
        text.flush()
        text.detach()  # leave stdout (or the file) open to its owner

    return row, done


def _csv_row(message: StoredMessage) -> list[Any]:
    recalled = message.recalled_at is not None
    title, text = ("", "") if recalled else _title_and_text(message.content)
    return [
        message.id,
        dt.datetime.fromtimestamp(message.created_at / 1000, dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        message.group_id,
        str(message.sender_type),
        message.sender_name,
        "" if message.robot_id is None else message.robot_id,
        message.msgtype,
        title,
        text,
        "true" if recalled else "false",
    ]


def _title_and_text(content: dict[str, Any] | None) -> tuple[str, str]:
    """A message's title and its text as sent (a feed card: its entries' titles)."""
    from gong.protocol.messages import (
        FeedCardMessage,
        LinkMessage,
        parse_message,
    )

    try:
        message = parse_message(content or {})
    except Exception:  # stored before a rule it breaks: no title, no text
        return "", ""
    if isinstance(message, LinkMessage):
        return message.title(), message.link.text
    if isinstance(message, FeedCardMessage):
        return message.title(), "\n".join(link.title for link in message.feedCard.links)
    return message.title(), message.body_text()


# -- retention ---------------------------------------------------------------------------------


def prune_command(as_json: bool = JsonOpt) -> None:

    async def action() -> tuple[PruneReport, int]:
        async with open_admin() as admin:
            limited = sum(
                1
                for g in await admin.groups.list()
                if g.retention_days is not None or g.retention_count is not None
            )
            return await admin.archive.prune(), limited

    report, limited = run(action, as_json=as_json)
    if limited and not report.groups:
        fail(
            _.lazy("another Gong process is enforcing retention right now; try again in a minute"),
            code="busy",
            as_json=as_json,
        )
    emit(
        {"groups": report.groups, "deleted": report.deleted},
        as_json=as_json,
        human=lambda: out.print(
            _(
                "%(messages)s deleted from %(groups)s with a retention",
                messages=_messages(report.deleted),
                groups=_.plural(
                    "%(count)s group",
                    "%(count)s groups",
                    report.groups,
                    count=format(report.groups, ","),
                ),
            )
            if report.groups
            else _("no group has a retention: nothing to delete")
        ),
    )


def _messages(n: int) -> str:
    """``1 message``, ``1,234 messages``."""
    return _.plural("%(count)s message", "%(count)s messages", n, count=format(n, ","))
