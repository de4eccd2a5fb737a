"""Shared plumbing of the CLI: settings, the administration services, output as JSON or for
people."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
import typer
from pydantic import BaseModel
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text as Styled

from gong.config import Settings
from gong.domain.errors import GongError
from gong.i18n import Text
from gong.i18n import cli as _

if TYPE_CHECKING:
    from gong.administration import Administration

__all__ = [
    "JsonOpt",
    "emit",
    "fail",
    "label_width",
    "labelled",
    "open_admin",
    "padded",
    "run",
    "settings",
    "shown",
    "table",
    "when_ms",
]

T = TypeVar("T")

JsonOpt = typer.Option(False, "--json", help=_("Print machine-readable JSON."))

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


#: The largest unix ms the API takes (a 64-bit integer).
_MAX_MS = 9_223_372_036_854_775_807


def when_ms(value: str) -> int:
    """A moment as the CLI takes it: an ISO date or date and time (``2026-12-01``,
    ``2026-12-01T08:00``; local time unless it names its offset) or unix ms (digits only)."""
    text = value.strip()
    if text.isdigit():
        ms = int(text)
    else:
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise typer.BadParameter(
                _(
                    "%(value)r is not a date (2026-12-01), a local time (2026-12-01T08:00) or "
                    "unix ms",
                    value=value,
                )
            ) from None
        if moment.tzinfo is None:
            moment = moment.astimezone()  # the local time zone's
        ms = int(moment.timestamp() * 1000)
    if not 0 <= ms <= _MAX_MS:
        raise typer.BadParameter(
            _("%(value)r is before 1970 or too far in the future", value=value)
        )
    return ms


def settings(**given: Any) -> Settings:
    """The settings of every command: ``given`` (its options), the environment, then
    ``gong.env`` files (:meth:`gong.config.Settings.load`). A setting that is not valid ends the
    command with one line per setting, naming its variable."""
    from pydantic import ValidationError

    try:
        return Settings.load(**given)
    except ValidationError as exc:
        from gong.cli.preflight import setting_errors

        fail_all(setting_errors(exc))
        raise  # not reached: fail_all exits


def fail_all(messages: Sequence[str | Text], *, status: int = 1) -> None:
    """Print each message as :func:`fail` does, then exit with ``status``."""
    for message in messages:
        shown = message.translated() if isinstance(message, Text) else message
        before, _placeholder, after = _("error: %(message)s").partition("%(message)s")
        err.print(Styled.assemble((before, "red"), shown, after), soft_wrap=True)
    raise typer.Exit(status)


@contextlib.asynccontextmanager
async def open_admin(config: Settings | None = None) -> AsyncIterator[Administration]:
    """The configured database, migrated, with the administration services; closed on exit.

    A change made here reaches running servers through the configuration version they poll.
    """
    # Imported here so commands that need no database (sign, send) start fast.
    from gong.administration import open_administration

    async with open_administration(config or settings()) as admin:
        yield admin


def run(action: Callable[[], Awaitable[T]], *, as_json: bool = False) -> T:
    """Run an async action; a :class:`GongError` becomes a clear message (in the CLI's
    language; English in ``--json``) and exit status 1."""
    try:
        return asyncio.run(action())  # type: ignore[arg-type]
    except GongError as exc:
        fail(exc.text, code=exc.code, as_json=as_json)
    raise AssertionError("unreachable")


def fail(
    message: str | Text, *, code: str = "error", as_json: bool = False, status: int = 1
) -> None:
    """Print ``message`` and exit with ``status``: for people on stderr, translated (a
    :class:`~gong.i18n.Text`); with ``--json`` on stdout as ``{"error": {code, message}}``, the
    message in English."""
    if as_json:
        data = {"error": {"code": code, "message": str(message)}}
        sys.stdout.write(orjson.dumps(data).decode())
        sys.stdout.write("\n")
    else:
        shown = message.translated() if isinstance(message, Text) else message
        before, _placeholder, after = _("error: %(message)s").partition("%(message)s")
        err.print(Styled.assemble((before, "red"), shown, after), soft_wrap=True)
    raise typer.Exit(status)


def shown(record: BaseModel) -> dict[str, Any]:
    """A record's outward shape (:mod:`gong.schemas.records`) as JSON: what the API answers."""
    data: dict[str, Any] = record.model_dump(mode="json")
    return data


def emit(data: Any, *, as_json: bool, human: Callable[[], None] | None = None) -> None:
    """Print ``data`` as indented JSON with ``--json``, otherwise in a form for people."""
    if as_json or human is None:
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
        sys.stdout.flush()
    else:
        human()


def label_width(*labels: str) -> int:
    """The width that lines values up after these labels, two spaces after the longest (in
    terminal cells: a Chinese character takes two)."""
    return max(cell_len(label) for label in labels) + 2


def padded(label: str, width: int) -> str:
    """``label`` and the spaces up to ``width`` (at least one)."""
    return label + " " * max(1, width - cell_len(label))


def labelled(label: str, value: Any, width: int) -> str:
    """An indented ``label value`` line, the value at ``width`` (:func:`label_width`)."""
    return f"  {padded(label, width)}{value}"


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> None:
    grid = Table(*columns, title=title, show_lines=False)
    for row in rows:
        grid.add_row(*["" if v is None else str(v) for v in row])
    out.print(grid)
