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
from rich.console import Console
from rich.table import Table

from gong.config import Settings
from gong.domain.errors import GongError

if TYPE_CHECKING:
    from gong.administration import Administration

__all__ = [
    "JsonOpt",
    "emit",
    "fail",
    "open_admin",
    "run",
    "settings",
    "shown",
    "table",
    "when_ms",
]

T = TypeVar("T")

JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON.")

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
                f"{value!r} is not a date (2026-12-01), a local time (2026-12-01T08:00) or unix ms"
            ) from None
        if moment.tzinfo is None:
            moment = moment.astimezone()  # the local time zone's
        ms = int(moment.timestamp() * 1000)
    if not 0 <= ms <= _MAX_MS:
        raise typer.BadParameter(f"{value!r} is before 1970 or too far in the future")
    return ms


def settings() -> Settings:
    return Settings()


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
    """Run an async action; a :class:`GongError` becomes a clear message and exit status 1."""
    try:
        return asyncio.run(action())  # type: ignore[arg-type]
    except GongError as exc:
        fail(exc.message, code=exc.code, as_json=as_json)
    raise AssertionError("unreachable")


def fail(message: str, *, code: str = "error", as_json: bool = False, status: int = 1) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps({"error": {"code": code, "message": message}}).decode())
        sys.stdout.write("\n")
    else:
        err.print(f"[red]error:[/red] {message}", markup=True)
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


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> None:
    grid = Table(*columns, title=title, show_lines=False)
    for row in rows:
        grid.add_row(*["" if v is None else str(v) for v in row])
    out.print(grid)
