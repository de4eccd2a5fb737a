"""``gong search``: find messages in every group by the words they hold, as an admin."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text

from gong.cli.common import JsonOpt, emit, open_admin, out, run, shown, when_ms
from gong.cli.history import local_time
from gong.domain.search import ALERT_STATES, MAX_RESULTS, SearchFilters, SearchHit, SearchPage
from gong.i18n import cli as _
from gong.protocol.messages import MESSAGE_TYPES
from gong.schemas.records import SearchPageOut

__all__ = ["search_command"]


def _msgtype(value: str) -> str:
    if value not in MESSAGE_TYPES:
        raise typer.BadParameter(
            _(
                "%(value)r is not one of %(types)s",
                value=value,
                types=", ".join(sorted(MESSAGE_TYPES)),
            )
        )
    return value


def _alert_state(value: str) -> str:
    if value not in ALERT_STATES:
        raise typer.BadParameter(
            _(
                "%(value)r is not %(states)s",
                value=value,
                states=_(" or ").join(sorted(ALERT_STATES)),
            )
        )
    return value


def search_command(
    query: str = typer.Argument(
        ...,
        metavar="QUERY",
        help=_(
            "Words to find, each as a substring of a message's text, titles, link and button "
            "texts (any part of Chinese text; Latin text ignoring case). At least 2 characters."
        ),
    ),
    group_id: int | None = typer.Option(None, "--group", min=1, help=_("Only this group.")),
    robot_id: int | None = typer.Option(None, "--robot", min=1, help=_("Only this robot's.")),
    msgtype: str | None = typer.Option(
        None,
        "--msgtype",
        parser=_msgtype,
        metavar="TYPE",
        help=_("Only messages of this type: %(types)s.", types=", ".join(sorted(MESSAGE_TYPES))),
    ),
    since: int | None = typer.Option(
        None,
        "--since",
        parser=when_ms,
        metavar="WHEN",
        help=_("Posted at or after: 2026-12-01, 2026-12-01T08:00 (local time) or unix ms."),
    ),
    until: int | None = typer.Option(
        None, "--until", parser=when_ms, metavar="WHEN", help=_("Posted before (as --since).")
    ),
    alert_state: str | None = typer.Option(
        None,
        "--alert-state",
        parser=_alert_state,
        metavar="STATE",
        help=_(
            "Only alert messages in this state: %(states)s.",
            states=_(" or ").join(sorted(ALERT_STATES)),
        ),
    ),
    before: int | None = typer.Option(
        None,
        "--before",
        min=1,
        help=_("Only messages older than this id (a page's next_before)."),
    ),
    limit: int = typer.Option(
        20, "--limit", min=1, max=MAX_RESULTS, help=_("How many, newest first.")
    ),
    as_json: bool = JsonOpt,
) -> None:

    async def action() -> tuple[SearchPage, dict[int, str]]:
        async with open_admin() as admin:
            scope = await admin.search.scope(None, True)
            page = await admin.search.search(
                query,
                scope,
                SearchFilters(
                    group_id=group_id,
                    robot_id=robot_id,
                    msgtype=msgtype,
                    since=since,
                    until=until,
                    alert_state=alert_state,
                ),
                before=before,
                limit=limit,
            )
            names = {g.id: g.name for g in await admin.groups.list()} if page.hits else {}
            return page, names

    page, names = run(action, as_json=as_json)
    emit(
        shown(SearchPageOut.of(page)),
        as_json=as_json,
        human=lambda: _print_page(page, names),
    )


def _snippet(hit: SearchHit) -> Text:
    """The snippet with what the query found in bold."""
    text = Text()
    for segment in hit.snippet:
        text.append(segment.text, style="bold" if segment.match else None)
    return text


def _print_page(page: SearchPage, names: dict[int, str]) -> None:
    if not page.hits:
        out.print(_("no message matches"))
        return
    grid = Table(_("id"), _("group"), _("from"), _("time"), _("snippet"))
    for hit in page.hits:
        message = hit.message
        group = names.get(message.group_id, "")
        grid.add_row(
            str(message.id),
            Text(f"{message.group_id} {group}".strip()),
            Text(message.sender_name),
            local_time(message.created_at),
            _snippet(hit),
        )
    out.print(grid)
    if page.next_before is not None:
        out.print(_("older matches: add --before %(id)s", id=page.next_before))
