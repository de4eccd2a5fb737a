"""The search index (a :class:`~gong.domain.search.SearchIndex`) on each backend.

``message_search`` holds each message's searchable text, written by the writer in the message's
own transaction and removed with it (recall, retention).

- SQLite: ``message_fts``, an FTS5 table with the trigram tokenizer over ``message_search``
  (migration 0008). Terms of three or more characters are found through it as quoted phrases
  (any substring, case-insensitive; FTS syntax in a term is just text); shorter terms are then
  checked on the matching rows with ``instr`` on lower-cased text. A query of short terms only
  scans ``message_search`` newest first.
- PostgreSQL: ``ILIKE '%term%'`` per term, which the pg_trgm GIN index serves for terms of three
  or more characters; ``%``, ``_`` and ``\\`` in a term are escaped, so they match themselves.

Results come newest first (by message id), a page at a time below a ``before`` id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gong.domain.models import StoredMessage
from gong.domain.search import TRIGRAM, SearchFilters, SearchScope
from gong.storage.rows import message_of, visible_to
from gong.storage.schema import groups, message_mentions, message_search, messages, user_members

__all__ = ["SqlSearch"]

#: Shorter terms cannot use a trigram index.
_TRIGRAM = TRIGRAM
_FTS = sa.table("message_fts", sa.column("rowid", sa.BigInteger), sa.column("message_fts"))


def _phrase(term: str) -> str:
    """An FTS5 string: the term as one phrase, its own quotes doubled."""
    return '"' + term.replace('"', '""') + '"'


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SqlSearch:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def scope_of(self, user_id: int, is_admin: bool) -> SearchScope:
        async with self.engine.connect() as conn:
            linked = (
                await conn.execute(
                    sa.select(user_members.c.member_id, user_members.c.group_id).where(
                        user_members.c.user_id == user_id
                    )
                )
            ).all()
            every = (
                set((await conn.execute(sa.select(groups.c.id))).scalars().all())
                if is_admin
                else {int(r.group_id) for r in linked}
            )
        return SearchScope(
            group_ids=frozenset(int(g) for g in every),
            member_ids=frozenset(int(r.member_id) for r in linked),
            user_id=user_id,
        )

    def _filters(
        self, filters: SearchFilters, scope: SearchScope, before: int | None
    ) -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = [
            visible_to(scope.user_id),
            messages.c.recalled_at.is_(None),
        ]
        if scope.group_ids is not None:
            where.append(messages.c.group_id.in_(sorted(scope.group_ids)))
        if before is not None:
            where.append(messages.c.id < before)
        if filters.group_id is not None:
            where.append(messages.c.group_id == filters.group_id)
        if filters.robot_id is not None:
            where.append(messages.c.robot_id == filters.robot_id)
        if filters.sender_user_id is not None:
            where.append(messages.c.sender_user_id == filters.sender_user_id)
        if filters.msgtype is not None:
            where.append(messages.c.msgtype == filters.msgtype)
        if filters.since is not None:
            where.append(messages.c.created_at >= filters.since)
        if filters.until is not None:
            where.append(messages.c.created_at < filters.until)
        if filters.alert_state is not None:
            # The alert JSON is written by orjson from AlertState.to_json: "state" comes first.
            where.append(messages.c.alert.like(f'{{"state":"{filters.alert_state}"%'))
        if filters.mentions_me:
            mentioned = sa.select(message_mentions.c.message_id).where(
                message_mentions.c.member_id.in_(sorted(scope.member_ids))
            )
            where.append(sa.or_(messages.c.at_all.is_(True), messages.c.id.in_(mentioned)))
        return where

    async def find(
        self,
        terms: Sequence[str],
        filters: SearchFilters,
        scope: SearchScope,
        before: int | None,
        limit: int,
        floor: int | None = None,
    ) -> list[tuple[StoredMessage, str]]:
        if scope.group_ids is not None and not scope.group_ids:
            return []
        where = self._filters(filters, scope, before)
        if floor is not None:
            where.append(message_search.c.message_id > floor)
        query = (
            sa.select(messages, message_search.c.body)
            .select_from(message_search)
            .join(messages, messages.c.id == message_search.c.message_id)
        )
        order: Any = message_search.c.message_id.desc()
        if self.engine.dialect.name == "sqlite":
            long = [t for t in terms if len(t) >= _TRIGRAM]
            short = [t for t in terms if len(t) < _TRIGRAM]
            if long:
                # Driven by the FTS table in its own rowid order: no sort of every match, and
                # the walk stops at the page.
                query = (
                    sa.select(messages, message_search.c.body)
                    .select_from(_FTS)
                    .join(message_search, message_search.c.message_id == _FTS.c.rowid)
                    .join(messages, messages.c.id == _FTS.c.rowid)
                )
                match = " AND ".join(_phrase(t) for t in long)
                where.append(_FTS.c.message_fts.op("MATCH")(match))
                if before is not None:
                    where.append(_FTS.c.rowid < before)
                order = _FTS.c.rowid.desc()
            for term in short:
                where.append(sa.func.instr(sa.func.lower(message_search.c.body), term.lower()) > 0)
        else:
            for term in terms:
                where.append(message_search.c.body.ilike(_like(term), escape="\\"))
            order = messages.c.id.desc()
        query = query.where(*where).order_by(order).limit(limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(message_of(row), str(row.body)) for row in rows]

    async def newest_id(self) -> int:
        async with self.engine.connect() as conn:
            found = await conn.scalar(sa.select(sa.func.max(message_search.c.message_id)))
        return int(found or 0)
