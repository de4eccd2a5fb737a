"""The search page: messages that contain every word of a query, in the groups the reader sees
(an admin: every group), or in one group; newest first, a page at a time, each result leading to
the message in its conversation.

The rules (what a query may be, what matches, who sees what) are :mod:`gong.domain.search`'s;
a query that breaks one is answered with the page and the rule (422), never a server error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gong.domain.errors import Invalid
from gong.domain.models import Group
from gong.domain.search import SearchFilters, SearchHit, Segment
from gong.i18n import web as _
from gong.web.pages.common import ViewerDep, get_web, list_context, page

__all__ = ["PAGE_SIZE", "Result", "router"]

router = APIRouter(include_in_schema=False)

#: Results per page.
PAGE_SIZE = 20
_MAX_ID = 2**63 - 1
_MAX_GROUP_ID = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Result:
    """One found message as the page lists it."""

    id: int
    group_id: int
    group_name: str
    sender_name: str
    sender_type: str
    created_at: int
    snippet: tuple[Segment, ...]
    #: The group's own time zone (None: the server's), for the time shown.
    timezone: str | None = None

    @property
    def url(self) -> str:
        """The message in its conversation, in context and marked."""
        return f"/groups/{self.group_id}?at={self.id}#m-{self.id}"

    @property
    def iso_time(self) -> str:
        return datetime.fromtimestamp(self.created_at / 1000, UTC).isoformat(timespec="seconds")

    @classmethod
    def of(cls, hit: SearchHit, groups: dict[int, Group]) -> Result:
        message = hit.message
        group = groups.get(message.group_id)
        return cls(
            id=message.id,
            group_id=message.group_id,
            group_name=group.name if group else _("Group %(id)s", id=message.group_id),
            sender_name=message.sender_name,
            sender_type=str(message.sender_type),
            created_at=message.created_at,
            snippet=hit.snippet,
            timezone=group.timezone if group else None,
        )


def _id(raw: str | None, name: str, largest: int) -> int | None:
    """An id from the query string: empty is none; anything else not an id is refused."""
    if raw is None or not raw.strip():
        return None
    value = raw.strip()
    number = value.isascii() and value.isdigit() and len(value) <= 19
    if not number or not 1 <= int(value) <= largest:
        raise Invalid(
            _.lazy(
                "%(name)s must be an id (a positive whole number), got %(value)r",
                name=name,
                value=value[:20],
            )
        )
    return int(value)


def _link(q: str, group: Group | None, before: int | None = None) -> str:
    params: dict[str, Any] = {"q": q}
    if group is not None:
        params["group"] = group.id
    if before is not None:
        params["before"] = before
    return "/search?" + urlencode(params)


@router.get("/search")
async def search(
    request: Request,
    viewer: ViewerDep,
    q: str = "",
    group: str | None = None,
    before: str | None = None,
) -> Response:
    """Search the reader's groups (``group``: one of them); ``before`` pages further back."""
    web = get_web(request)
    runtime = web.runtime
    conversations = await web.inbox.conversations(viewer.user)
    groups = {c.group.id: c.group for c in conversations}
    in_group: Group | None = None
    error = ""
    results: list[Result] = []
    next_before: int | None = None
    query = q.strip()
    try:
        group_id = _id(group, "group", _MAX_GROUP_ID)
        if group_id is not None:
            in_group, _ = await web.inbox.visible_group(viewer.user, group_id)
        older_than = _id(before, "before", _MAX_ID)
        if query:
            scope = await runtime.search.scope(viewer.user.id, viewer.user.is_admin)
            found = await runtime.search.search(
                query,
                scope,
                SearchFilters(group_id=group_id),
                before=older_than,
                limit=PAGE_SIZE,
            )
            results = [Result.of(hit, groups) for hit in found.hits]
            next_before = found.next_before
    except Invalid as exc:
        error = exc.translated()
    context = list_context(conversations, in_group.id if in_group else None)
    context.update(
        q=query,
        group=in_group,
        error=error,
        results=results,
        searched=bool(query) and not error,
        paged=before is not None and bool(before.strip()) and not error,
        older_url=_link(query, in_group, next_before) if next_before else "",
        newest_url=_link(query, in_group),
        all_groups_url=_link(query, None) if query else "/search",
        search_all_q="" if in_group else query,
    )
    return page(request, "search.html", context, status=422 if error else 200, viewer=viewer)
