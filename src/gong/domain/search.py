"""Search over message history: what is indexed, what a query may be, who sees what.

Each stored message is indexed by its *searchable text* (:func:`searchable_text`): the text,
titles, link and button texts of its content, with markdown's links and escapes reduced to the
words people read; never the raw source payload. A query (:func:`parse_query`) is split into
terms at white space; a message matches when it contains every term as a substring, ignoring
case (``连接池`` finds ``数据库连接池耗尽``; ``%`` and ``_`` are plain characters). Storage
implements the matching (:class:`~gong.domain.ports.SearchIndex`: SQLite FTS5 trigram,
PostgreSQL ``pg_trgm``); this module holds the rules both backends follow, the filters, and
who may see which groups (:class:`Search`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gong.domain.errors import Invalid
from gong.domain.models import StoredMessage
from gong.i18n import core

__all__ = [
    "MAX_QUERY",
    "MAX_RESULTS",
    "MAX_TERMS",
    "MIN_QUERY",
    "SHORT_SCAN",
    "TRIGRAM",
    "Search",
    "SearchFilters",
    "SearchHit",
    "SearchIndex",
    "SearchPage",
    "SearchScope",
    "Segment",
    "parse_query",
    "searchable_text",
    "snippet",
]

#: The shortest query, in characters (one character matches too much to be worth an answer).
MIN_QUERY = 2
#: The longest query, in characters.
MAX_QUERY = 200
#: The most terms a query may have.
MAX_TERMS = 10
#: The most results a page holds.
MAX_RESULTS = 100
#: Words shorter than this cannot use a trigram index: a query of only such words reads the
#: newest :data:`SHORT_SCAN` messages below ``before`` per page, and says where to go on.
TRIGRAM = 3
SHORT_SCAN = 100_000
#: Alert states a search can be narrowed to.
ALERT_STATES = frozenset({"firing", "resolved"})

_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_TAG = re.compile(r"</?(?:font|br)\b[^>]*>", re.IGNORECASE)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>~|])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _markdown_words(text: str) -> str:
    """Markdown as people read it: link and image texts without their URLs, no escapes."""
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _TAG.sub(" ", text)
    return _ESCAPE.sub(r"\1", text)


def _strings(msgtype: str, body: Mapping[str, Any]) -> Iterable[Any]:
    if msgtype == "text":
        yield body.get("content")
    elif msgtype == "markdown":
        yield body.get("title")
        yield _markdown_words(str(body.get("text") or ""))
    elif msgtype == "link":
        yield body.get("title")
        yield body.get("text")
    elif msgtype == "actionCard":
        yield body.get("title")
        yield _markdown_words(str(body.get("text") or ""))
        yield body.get("singleTitle")
        for button in body.get("btns") or ():
            if isinstance(button, Mapping):
                yield button.get("title")
    elif msgtype == "feedCard":
        for item in body.get("links") or ():
            if isinstance(item, Mapping):
                yield item.get("title")


def searchable_text(msgtype: str, content: Mapping[str, Any]) -> str:
    """The text a message is found by: its content's texts, titles, link and button texts,
    one per line (no URLs, no markdown escapes, no control characters)."""
    body = content.get(msgtype)
    if not isinstance(body, Mapping):
        return ""
    parts = [str(s).strip() for s in _strings(msgtype, body) if isinstance(s, str) and s.strip()]
    return _CONTROL.sub(" ", "\n".join(dict.fromkeys(parts)))


def parse_query(text: str) -> tuple[str, ...]:
    """The terms of a query: its words, each to be found as written, ignoring case.

    Raises:
        Invalid: the query is empty, shorter than :data:`MIN_QUERY` or longer than
            :data:`MAX_QUERY` characters, has more than :data:`MAX_TERMS` words, or holds
            characters no text holds (NUL, lone surrogates, other control characters).
    """
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text) or _CONTROL.search(text.replace("\t", " ")):
        raise Invalid(
            core.lazy("the query holds characters text cannot hold (control characters, NUL)")
        )
    query = " ".join(text.split())
    if len(query) < MIN_QUERY:
        raise Invalid(core.lazy("search for at least %(least)s characters", least=MIN_QUERY))
    if len(query) > MAX_QUERY:
        raise Invalid(core.lazy("the query is longer than %(most)s characters", most=MAX_QUERY))
    terms = tuple(dict.fromkeys(query.split(" ")))
    if len(terms) > MAX_TERMS:
        raise Invalid(
            core.lazy(
                "the query has %(count)s words; at most %(most)s",
                count=len(terms),
                most=MAX_TERMS,
            )
        )
    return terms


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """What narrows a search besides its words (all optional)."""

    group_id: int | None = None
    robot_id: int | None = None
    #: A person's account id (messages they posted).
    sender_user_id: int | None = None
    msgtype: str | None = None
    #: Unix ms, inclusive.
    since: int | None = None
    #: Unix ms, exclusive.
    until: int | None = None
    #: Only messages that @-mention the searcher (or @all).
    mentions_me: bool = False
    #: ``firing`` or ``resolved``: only alert messages in that state.
    alert_state: str | None = None

    def check(self) -> None:
        """Raises :class:`Invalid` for a filter that cannot hold."""
        if self.alert_state is not None and self.alert_state not in ALERT_STATES:
            raise Invalid(core.lazy("alert_state is firing or resolved"))


@dataclass(frozen=True, slots=True)
class SearchScope:
    """Whose search: the groups they see (None: every group), the members that are them (for
    "mentions me"), and the account private notes are shown to."""

    group_ids: frozenset[int] | None
    member_ids: frozenset[int] = frozenset()
    user_id: int | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of a snippet: ``match`` pieces are what the query found."""

    text: str
    match: bool = False


@dataclass(frozen=True, slots=True)
class SearchHit:
    message: StoredMessage
    #: Where the terms were found, with a little text around them.
    snippet: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[SearchHit]
    #: Pass as ``before`` for the next (older) page; None on the last page. For a query of
    #: short words only, a page reads one window of messages: a page with fewer hits (or none)
    #: may still have a ``next_before``, where the search goes on further back.
    next_before: int | None
    terms: tuple[str, ...] = field(default=())


def snippet(text: str, terms: Sequence[str], width: int = 60) -> tuple[Segment, ...]:
    """A stretch of ``text`` around the first match, its matches marked (ignoring case)."""
    if not text:
        return ()
    folded = text.lower()
    spans: list[tuple[int, int]] = []
    for term in terms:
        needle = term.lower()
        start = folded.find(needle)
        while start != -1 and needle:
            spans.append((start, start + len(needle)))
            start = folded.find(needle, start + len(needle))
    spans.sort()
    first = spans[0][0] if spans else 0
    begin = max(0, first - width // 2)
    end = min(len(text), begin + width * 3)
    pieces: list[Segment] = []
    at = begin
    for start, stop in spans:
        if stop <= at or start >= end:
            continue
        start = max(start, at)
        if start > at:
            pieces.append(Segment(text[at:start]))
        pieces.append(Segment(text[start:stop], match=True))
        at = stop
    if at < end:
        pieces.append(Segment(text[at:end]))
    if begin > 0:
        pieces.insert(0, Segment("…"))
    if end < len(text):
        pieces.append(Segment("…"))
    return tuple(Segment(" ".join(p.text.split("\n")), p.match) for p in pieces)


class SearchIndex(Protocol):
    """Where messages are found (SQLite FTS5 trigram, PostgreSQL pg_trgm)."""

    async def find(
        self,
        terms: Sequence[str],
        filters: SearchFilters,
        scope: SearchScope,
        before: int | None,
        limit: int,
        floor: int | None = None,
    ) -> list[tuple[StoredMessage, str]]:
        """The newest messages below ``before`` (and above ``floor``) in ``scope`` that contain
        every term (ignoring case) and pass ``filters``, newest first, each with its searchable
        text."""
        ...

    async def newest_id(self) -> int:
        """The newest indexed message's id (0 when none is)."""
        ...

    async def scope_of(self, user_id: int, is_admin: bool) -> SearchScope:
        """The groups an account sees and the members that are it."""
        ...


@dataclass(slots=True)
class Search:
    """Search as a person (their groups only) or as an admin (every group)."""

    index: SearchIndex

    async def scope(self, user_id: int | None, is_admin: bool) -> SearchScope:
        """An account's scope; ``user_id`` None is the admin API token (every group)."""
        if user_id is None:
            return SearchScope(group_ids=None)
        return await self.index.scope_of(user_id, is_admin)

    async def search(
        self,
        query: str,
        scope: SearchScope,
        filters: SearchFilters | None = None,
        *,
        before: int | None = None,
        limit: int = 20,
    ) -> SearchPage:
        """A page of the messages matching ``query``, newest first.

        Raises:
            Invalid: the query or a filter breaks a rule (named).
        """
        terms = parse_query(query)
        filters = filters or SearchFilters()
        filters.check()
        if not 1 <= limit <= MAX_RESULTS:
            raise Invalid(core.lazy("limit is 1 to %(most)s", most=MAX_RESULTS))
        hidden = scope.group_ids is not None and filters.group_id not in scope.group_ids
        if filters.group_id is not None and hidden:  # not revealed: as if it had nothing
            return SearchPage([], None, terms)
        floor = None
        if all(len(t) < TRIGRAM for t in terms):  # no index helps: one window at a time
            top = before if before is not None else await self.index.newest_id() + 1
            floor = max(0, top - SHORT_SCAN - 1)
        found = await self.index.find(terms, filters, scope, before, limit + 1, floor)
        more = len(found) > limit
        found = found[:limit]
        hits = [SearchHit(message, snippet(text, terms)) for message, text in found]
        if more:
            next_before: int | None = found[-1][0].id
        else:  # below the window there may be more
            next_before = floor + 1 if floor else None
        return SearchPage(hits, next_before, terms)
