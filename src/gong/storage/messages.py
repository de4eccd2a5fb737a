"""The batch write path of the group-commit writer: messages, held messages, refusals.

These run on the writer's connection (a synchronous ``Connection``), several records of one
type at a time, all in the writer's one transaction; see :mod:`gong.storage.writer`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gong.domain.models import NewMessage
from gong.domain.ports import StoreResult
from gong.domain.search import searchable_text
from gong.domain.service import group_key_of
from gong.storage.alerts import (
    count_repeat,
    quiet_message,
    remember_quiet,
    resolve_marks,
    write_marks,
)
from gong.storage.ignored import IgnoredWrite, write_ignored
from gong.storage.outbox import Transaction, write_transactions
from gong.storage.rows import insert_for
from gong.storage.schema import (
    message_mentions,
    message_search,
    message_uuids,
    messages,
    overflow_messages,
    refusals,
    relay_deliveries,
    robot_stats,
)
from gong.storage.writer import BatchHandler

__all__ = [
    "RefusalWrite",
    "SummaryRaced",
    "held_row",
    "message_row",
    "write_handlers",
    "write_messages",
    "write_refusals",
]


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


@dataclass(slots=True)
class RefusalWrite:
    robot_id: int
    errcode: int
    errmsg: str
    reason: str
    ip: str
    created_at: int
    hint: str | None = None
    hint_params: dict[str, Any] | None = None


def _claim_uuid(conn: Connection, robot_id: int, uuid: str, now: int, until: int) -> bool:
    """Remember ``uuid`` for the robot; False if it was already remembered and not expired."""
    insert = insert_for(conn)
    stmt = insert(message_uuids).values(robot_id=robot_id, msg_uuid=uuid, expires_at=until)
    stmt = stmt.on_conflict_do_update(
        index_elements=[message_uuids.c.robot_id, message_uuids.c.msg_uuid],
        set_={"expires_at": stmt.excluded.expires_at},
        where=message_uuids.c.expires_at < now,
    ).returning(message_uuids.c.robot_id)
    return conn.execute(stmt).first() is not None


_INSERT_MESSAGES = messages.insert().returning(messages.c.id, sort_by_parameter_order=True)
_ADD_ACCEPTED = (
    sa.update(robot_stats)
    .where(robot_stats.c.robot_id == sa.bindparam("rid"))
    .values(accepted=robot_stats.c.accepted + sa.bindparam("n"))
)
_ADD_REFUSED = (
    sa.update(robot_stats)
    .where(robot_stats.c.robot_id == sa.bindparam("rid"))
    .values(refused=robot_stats.c.refused + sa.bindparam("n"))
)


_MESSAGE_COLUMNS = (
    "group_id",
    "robot_id",
    "sender_type",
    "sender_user_id",
    "sender_name",
    "msgtype",
    "payload",
    "content",
    "mentions",
    "at_all",
    "unresolved",
    "msg_uuid",
    "created_at",
    "visible_to_user_id",
    "alert",
    "repeat",
    "recalled_at",
    "recalled_by",
)
# Built from the constant column names above, never from input.
_SQLITE_INSERT = (
    f"INSERT INTO messages ({', '.join(_MESSAGE_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in _MESSAGE_COLUMNS)})"
)


def _insert_messages(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows in one round trip and return their ids, in order.

    PostgreSQL does it with one multi-row ``INSERT … RETURNING``. SQLite's driver would run
    ``RETURNING`` row by row, so there it is one ``executemany`` of plain tuples (no per-row
    parameter processing): the writer holds SQLite's write lock (``BEGIN IMMEDIATE``) and a
    rowid table gives each new row ``max(id) + 1``, so the ids are the contiguous run ending at
    the new ``max(id)``.
    """
    if conn.dialect.name != "sqlite":
        return list(conn.execute(_INSERT_MESSAGES, rows).scalars().all())
    conn.exec_driver_sql(_SQLITE_INSERT, [tuple(r.values()) for r in rows])
    last = int(conn.exec_driver_sql("SELECT max(id) FROM messages").scalar() or 0)
    return list(range(last - len(rows) + 1, last + 1))


def message_row(m: NewMessage) -> dict[str, Any]:
    """The ``messages`` row of a new message, keys in ``_MESSAGE_COLUMNS`` order."""
    return {
        "group_id": m.group_id,
        "robot_id": m.robot_id,
        "sender_type": str(m.sender_type),
        "sender_user_id": m.sender_user_id,
        "sender_name": m.sender_name,
        "msgtype": m.msgtype,
        "payload": m.payload,
        "content": _dumps(m.content),
        "mentions": _dumps([x.to_json() for x in m.mentions]) if m.mentions else "[]",
        "at_all": 1 if m.at_all else 0,
        "unresolved": _dumps(m.unresolved) if m.unresolved else "[]",
        "msg_uuid": m.msg_uuid,
        "created_at": m.created_at,
        "visible_to_user_id": m.visible_to_user_id,
        "alert": _dumps(m.alert) if m.alert is not None else None,
        "repeat": 1,
        "recalled_at": None,
        "recalled_by": None,
    }


def _index(rows: list[dict[str, Any]], message_id: int, m: NewMessage) -> None:
    """Add the message's searchable text (none for a picture) to the search index's rows."""
    body = searchable_text(m.msgtype, m.content)
    if body:
        rows.append({"message_id": message_id, "body": body})


def held_row(m: NewMessage) -> dict[str, Any]:
    return {
        "robot_id": m.robot_id,
        "group_id": m.group_id,
        "sender_name": m.sender_name,
        "msgtype": m.msgtype,
        "content": _dumps(m.content),
        "msg_uuid": m.msg_uuid,
        "created_at": m.created_at,
    }


_INSERT_HELD = overflow_messages.insert().returning(
    overflow_messages.c.id, sort_by_parameter_order=True
)


class SummaryRaced(Exception):
    """Another process summarised some of these held messages first."""


def write_messages(conn: Connection, items: Sequence[NewMessage]) -> list[StoreResult]:
    """Store a batch of messages: dedupe msgUuids, count repeats in quiet windows, insert posted
    and held messages, keep alert marks and resolve earlier ones, add relay deliveries and
    overflow-summary marks, count accepted calls — all in the one transaction."""
    results: list[StoreResult | None] = [None] * len(items)
    posted: list[int] = []
    held: list[int] = []
    #: Batch items counted as repeats: on a stored message (its id) or on an earlier item.
    repeats: list[tuple[int, int | None, int | None]] = []
    opened: dict[tuple[int, str], int] = {}
    for i, m in enumerate(items):
        if (
            m.msg_uuid
            and m.robot_id is not None
            and m.dedup_until is not None
            and not _claim_uuid(conn, m.robot_id, m.msg_uuid, m.created_at, m.dedup_until)
        ):
            results[i] = StoreResult(None, duplicate=True)
            continue
        if m.content_key is not None and m.quiet_since is not None and m.robot_id is not None:
            key = (m.robot_id, m.content_key)
            if key in opened:
                repeats.append((i, None, opened[key]))
                continue
            earlier = quiet_message(conn, m.robot_id, m.content_key, m.quiet_since)
            if earlier is not None:
                repeats.append((i, earlier, None))
                continue
            opened[key] = i
        (held if m.held else posted).append(i)
    deliveries: list[dict[str, Any]] = []
    search_rows: list[dict[str, Any]] = []
    if posted:
        ids = _insert_messages(conn, [message_row(items[i]) for i in posted])
        mention_rows: list[dict[str, int]] = []
        for i, message_id in zip(posted, ids, strict=True):
            m = items[i]
            _index(search_rows, message_id, m)
            updates = resolve_marks(conn, m.resolves) if m.resolves else []
            results[i] = StoreResult(message_id, updates=tuple(updates))
            mention_rows.extend(
                {"message_id": message_id, "member_id": x.member_id} for x in m.mentions
            )
            if m.relay:
                deliveries.append(_delivery(m, message_id=message_id))
            if m.summary_of:
                _mark_summarised(conn, m.summary_of, message_id)
            if m.alert_facts is not None and m.robot_id is not None:
                group_key = group_key_of(m.alert_facts.group_key)
                write_marks(conn, m.robot_id, message_id, m.alert_facts, group_key, m.created_at)
            if m.content_key is not None and m.robot_id is not None:
                remember_quiet(conn, m.robot_id, m.content_key, message_id, m.created_at)
        if mention_rows:  # who to mark "@ you", in the same commit as the message
            conn.execute(message_mentions.insert(), mention_rows)
    for i, stored_id, item in repeats:
        target = stored_id
        if target is None and item is not None:
            first = results[item]
            target = first.message_id if first is not None else None
        update = count_repeat(conn, target) if target is not None else None
        if update is None:  # the earlier message is gone: post this one after all
            m = items[i]
            message_id = _insert_messages(conn, [message_row(m)])[0]
            _index(search_rows, message_id, m)
            results[i] = StoreResult(message_id)
            if m.content_key is not None and m.robot_id is not None:
                remember_quiet(conn, m.robot_id, m.content_key, message_id, m.created_at)
            if m.relay:
                deliveries.append(_delivery(m, message_id=message_id))
            continue
        results[i] = StoreResult(update.message_id, repeated=True, updates=(update,))
        if items[i].relay:
            deliveries.append(_delivery(items[i], message_id=update.message_id, repeat=True))
    if search_rows:  # the search index, in the same commit as the messages
        conn.execute(message_search.insert(), search_rows)
    if held:
        held_ids = conn.execute(_INSERT_HELD, [held_row(items[i]) for i in held]).scalars().all()
        for i, held_id in zip(held, held_ids, strict=True):
            results[i] = StoreResult(None, held=True)
            if items[i].relay:
                deliveries.append(_delivery(items[i], held_id=held_id))
    if deliveries:
        conn.execute(relay_deliveries.insert(), deliveries)
    counts = Counter(
        items[i].robot_id
        for i in (*posted, *held, *(r[0] for r in repeats))
        if items[i].robot_id is not None and not items[i].summary_of
    )
    if counts:
        conn.execute(_ADD_ACCEPTED, [{"rid": r, "n": n} for r, n in counts.items()])
    return [r if r is not None else StoreResult(None) for r in results]


def _delivery(
    m: NewMessage,
    *,
    message_id: int | None = None,
    held_id: int | None = None,
    repeat: bool = False,
) -> dict[str, Any]:
    assert m.robot_id is not None
    return {
        "repeat": repeat,
        "robot_id": m.robot_id,
        "message_id": message_id,
        "held_id": held_id,
        "content": _dumps(m.content),
        "state": "pending",
        "created_at": m.created_at,
        "updated_at": m.created_at,
    }


def _mark_summarised(conn: Connection, held_ids: list[int], summary_id: int) -> None:
    result = conn.execute(
        sa.update(overflow_messages)
        .where(overflow_messages.c.id.in_(held_ids), overflow_messages.c.summary_id.is_(None))
        .values(summary_id=summary_id)
    )
    if result.rowcount != len(held_ids):
        raise SummaryRaced(f"{len(held_ids) - result.rowcount} held messages already summarised")


def write_refusals(conn: Connection, items: Sequence[RefusalWrite]) -> list[None]:
    conn.execute(
        refusals.insert(),
        [
            {
                "robot_id": r.robot_id,
                "errcode": r.errcode,
                "errmsg": r.errmsg,
                "reason": r.reason,
                "ip": r.ip,
                "created_at": r.created_at,
                "hint": r.hint,
                "hint_params": _dumps(r.hint_params) if r.hint_params else None,
            }
            for r in items
        ],
    )
    counts = Counter(r.robot_id for r in items)
    conn.execute(_ADD_REFUSED, [{"rid": r, "n": n} for r, n in counts.items()])
    return [None] * len(items)


def write_handlers() -> dict[type, BatchHandler]:
    """The writer's batch handlers for the record types this module stores."""
    return {
        NewMessage: write_messages,
        RefusalWrite: write_refusals,
        IgnoredWrite: write_ignored,
        Transaction: write_transactions,
    }
