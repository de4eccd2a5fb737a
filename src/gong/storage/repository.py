"""Reads and writes of Gong's records, for the API, the CLI and the web app.

Every change to groups, members or robots bumps ``meta.config_version`` in the same transaction;
each server polls it and drops its cached robot views, so a change made by any process (the CLI
included) takes effect everywhere within ``config_refresh_seconds``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gong.clock import Clock
from gong.domain.errors import Conflict, Invalid, NotFound
from gong.domain.models import (
    DEFAULT_RATE_LIMIT,
    Group,
    Member,
    NewMessage,
    Outgoing,
    Overflow,
    RateLimit,
    Refusal,
    Robot,
    RobotKind,
    RobotView,
    SenderType,
    StoredMessage,
    Upstream,
)
from gong.domain.ports import StoreResult
from gong.domain.robots import (
    check_outgoing_settings,
    check_settings,
    check_upstream,
    upstream_token,
)
from gong.integrations.config import check_robot_settings
from gong.protocol.signing import generate_secret, generate_token
from gong.storage.outbox import Transaction, write_transactions
from gong.storage.schema import (
    admin_tokens,
    groups,
    members,
    message_mentions,
    message_uuids,
    messages,
    meta,
    overflow_messages,
    refusals,
    relay_deliveries,
    robot_stats,
    robots,
)
from gong.storage.writer import BatchHandler

__all__ = ["RefusalWrite", "Repository", "SummaryRaced", "hash_token", "write_handlers"]

CONFIG_VERSION = "config_version"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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


# ---------------------------------------------------------------------------------------------
# Row → record


def _group(row: Any) -> Group:
    return Group(id=row.id, name=row.name, dissolved=bool(row.dissolved), created_at=row.created_at)


def _member(row: Any) -> Member:
    return Member(
        id=row.id,
        group_id=row.group_id,
        name=row.name,
        mobile=row.mobile,
        user_id=row.user_id,
        created_at=row.created_at,
    )


def _robot(row: Any) -> Robot:
    return Robot(
        id=row.id,
        group_id=row.group_id,
        name=row.name,
        kind=RobotKind(row.kind),
        access_token=row.access_token,
        secret=row.secret,
        keywords=tuple(row.keywords or ()),
        ip_allow=tuple(row.ip_allow or ()),
        enabled=bool(row.enabled),
        rate_limit=RateLimit(row.rate_limit, row.rate_window, row.rate_block),
        overflow=Overflow(row.overflow),
        avatar_url=row.avatar_url,
        settings=dict(row.settings or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _message(row: Any) -> StoredMessage:
    return StoredMessage(
        id=row.id,
        group_id=row.group_id,
        robot_id=row.robot_id,
        sender_type=SenderType(row.sender_type),
        sender_user_id=row.sender_user_id,
        sender_name=row.sender_name,
        msgtype=row.msgtype,
        payload=orjson.loads(row.payload),
        content=orjson.loads(row.content),
        mentions=orjson.loads(row.mentions),
        at_all=bool(row.at_all),
        unresolved=orjson.loads(row.unresolved),
        msg_uuid=row.msg_uuid,
        created_at=row.created_at,
        visible_to_user_id=row.visible_to_user_id,
    )


def visible_to(user_id: int | None) -> sa.ColumnElement[bool]:
    """Messages ``user_id`` may read: the group's, and the notes only they see (None: the
    group's only — what admin tokens and the CLI read)."""
    public = messages.c.visible_to_user_id.is_(None)
    if user_id is None:
        return public
    return sa.or_(public, messages.c.visible_to_user_id == user_id)


def _refusal(row: Any) -> Refusal:
    return Refusal(
        id=row.id,
        robot_id=row.robot_id,
        errcode=row.errcode,
        errmsg=row.errmsg,
        reason=row.reason,
        ip=row.ip,
        created_at=row.created_at,
    )


# ---------------------------------------------------------------------------------------------
# Group-commit batch handlers


def _insert_for(conn: AsyncConnection | Connection) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL spell it alike)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


def _claim_uuid(conn: Connection, robot_id: int, uuid: str, now: int, until: int) -> bool:
    """Remember ``uuid`` for the robot; False if it was already remembered and not expired."""
    insert = _insert_for(conn)
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
    }


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
    """Store a batch of messages: dedupe msgUuids, insert posted and held messages, add relay
    deliveries and overflow-summary marks, count accepted calls — all in the one transaction."""
    results: list[StoreResult | None] = [None] * len(items)
    posted: list[int] = []
    held: list[int] = []
    for i, m in enumerate(items):
        if (
            m.msg_uuid
            and m.robot_id is not None
            and m.dedup_until is not None
            and not _claim_uuid(conn, m.robot_id, m.msg_uuid, m.created_at, m.dedup_until)
        ):
            results[i] = StoreResult(None, duplicate=True)
            continue
        (held if m.held else posted).append(i)
    deliveries: list[dict[str, Any]] = []
    if posted:
        ids = _insert_messages(conn, [message_row(items[i]) for i in posted])
        mention_rows: list[dict[str, int]] = []
        for i, message_id in zip(posted, ids, strict=True):
            results[i] = StoreResult(message_id)
            mention_rows.extend(
                {"message_id": message_id, "member_id": x.member_id} for x in items[i].mentions
            )
            if items[i].relay:
                deliveries.append(_delivery(items[i], message_id=message_id))
            if items[i].summary_of:
                _mark_summarised(conn, items[i].summary_of, message_id)
        if mention_rows:  # who to mark "@ you", in the same commit as the message
            conn.execute(message_mentions.insert(), mention_rows)
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
        for i in (*posted, *held)
        if items[i].robot_id is not None and not items[i].summary_of
    )
    if counts:
        conn.execute(_ADD_ACCEPTED, [{"rid": r, "n": n} for r, n in counts.items()])
    return [r if r is not None else StoreResult(None) for r in results]


def _delivery(
    m: NewMessage, *, message_id: int | None = None, held_id: int | None = None
) -> dict[str, Any]:
    assert m.robot_id is not None
    return {
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
        Transaction: write_transactions,
    }


# ---------------------------------------------------------------------------------------------


async def _views(conn: AsyncConnection, robot_rows: Sequence[Any]) -> dict[str, RobotView]:
    """Views of these robots: their groups and members read in two queries, each group's member
    maps built once and shared by its robots' views. Yields to the event loop every 1 000
    robots, so building many views never stalls requests for long."""
    group_ids = sorted({r.group_id for r in robot_rows})
    if not group_ids:
        return {}
    all_groups = len(group_ids) > 500
    group_query = sa.select(groups)
    member_query = sa.select(members)
    if not all_groups:
        group_query = group_query.where(groups.c.id.in_(group_ids))
        member_query = member_query.where(members.c.group_id.in_(group_ids))
    by_group = {g.id: _group(g) for g in (await conn.execute(group_query)).all()}
    by_mobile: dict[int, dict[str, Member]] = {g: {} for g in group_ids}
    by_user_id: dict[int, dict[str, Member]] = {g: {} for g in group_ids}
    for row in (await conn.execute(member_query)).all():
        if row.group_id not in by_mobile:
            continue
        member = _member(row)
        if member.mobile:
            by_mobile[row.group_id][member.mobile] = member
        if member.user_id:
            by_user_id[row.group_id][member.user_id] = member
    views: dict[str, RobotView] = {}
    for index, row in enumerate(robot_rows):
        if index and index % 1000 == 0:
            await asyncio.sleep(0)
        robot = _robot(row)
        views[robot.access_token] = RobotView(
            robot=robot,
            group=by_group[robot.group_id],
            security=robot.security,
            members_by_mobile=by_mobile[robot.group_id],
            members_by_user_id=by_user_id[robot.group_id],
        )
    return views


class Repository:
    """Management reads and writes, each in its own short transaction."""

    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    # -- meta ----------------------------------------------------------------------------------

    async def _bump(self, conn: AsyncConnection) -> None:
        insert = _insert_for(conn)
        stmt = insert(meta).values(key=CONFIG_VERSION, value=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=[meta.c.key], set_={"value": meta.c.value + 1}
        )
        await conn.execute(stmt)

    async def config_version(self) -> int:
        async with self.engine.connect() as conn:
            value = await conn.scalar(sa.select(meta.c.value).where(meta.c.key == CONFIG_VERSION))
        return int(value or 0)

    # -- admin tokens --------------------------------------------------------------------------

    async def create_admin_token(self, label: str = "") -> str:
        """Create an admin API token; only its hash is kept, so this is the one chance to see it."""
        token = "gong_" + secrets.token_urlsafe(32)
        async with self.engine.begin() as conn:
            await conn.execute(
                admin_tokens.insert().values(
                    token_hash=hash_token(token), label=label, created_at=self.clock.now_ms()
                )
            )
        return token

    async def admin_token_count(self) -> int:
        async with self.engine.connect() as conn:
            return int(await conn.scalar(sa.select(sa.func.count()).select_from(admin_tokens)) or 0)

    async def admin_token_hashes(self) -> list[str]:
        async with self.engine.connect() as conn:
            return list((await conn.execute(sa.select(admin_tokens.c.token_hash))).scalars())

    async def revoke_admin_tokens(self) -> int:
        async with self.engine.begin() as conn:
            return (await conn.execute(sa.delete(admin_tokens))).rowcount

    # -- groups --------------------------------------------------------------------------------

    async def create_group(self, name: str) -> Group:
        name = _required(name, "group name")
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    groups.insert()
                    .values(name=name, dissolved=False, created_at=self.clock.now_ms())
                    .returning(*groups.c)
                )
            ).one()
            await self._bump(conn)
        return _group(row)

    async def get_group(self, group_id: int) -> Group:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(groups).where(groups.c.id == group_id))).first()
        if row is None:
            raise NotFound(f"group {group_id} does not exist")
        return _group(row)

    async def list_groups(self) -> list[Group]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(groups).order_by(groups.c.id))).all()
        return [_group(r) for r in rows]

    async def update_group(
        self, group_id: int, *, name: str | None = None, dissolved: bool | None = None
    ) -> Group:
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = _required(name, "group name")
        if dissolved is not None:
            values["dissolved"] = dissolved
        async with self.engine.begin() as conn:
            if values:
                await conn.execute(sa.update(groups).where(groups.c.id == group_id).values(values))
                await self._bump(conn)
            row = (await conn.execute(sa.select(groups).where(groups.c.id == group_id))).first()
        if row is None:
            raise NotFound(f"group {group_id} does not exist")
        return _group(row)

    # -- members -------------------------------------------------------------------------------

    async def add_member(
        self, group_id: int, *, name: str, mobile: str | None, user_id: str | None = None
    ) -> Member:
        name = _required(name, "member name")
        mobile = (mobile or "").strip() or None
        user_id = (user_id or "").strip() or None
        if mobile is None and user_id is None:
            raise Invalid("a member needs a mobile or a userId")
        await self.get_group(group_id)
        try:
            async with self.engine.begin() as conn:
                row = (
                    await conn.execute(
                        members.insert()
                        .values(
                            group_id=group_id,
                            name=name,
                            mobile=mobile,
                            user_id=user_id,
                            created_at=self.clock.now_ms(),
                        )
                        .returning(*members.c)
                    )
                ).one()
                await self._bump(conn)
        except IntegrityError:
            raise Conflict(
                f"group {group_id} already has a member with mobile {mobile} or userId {user_id}"
            ) from None
        return _member(row)

    async def list_members(self, group_id: int) -> list[Member]:
        await self.get_group(group_id)
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(members).where(members.c.group_id == group_id).order_by(members.c.id)
                )
            ).all()
        return [_member(r) for r in rows]

    async def get_member(self, member_id: int) -> Member:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(members).where(members.c.id == member_id))).first()
        if row is None:
            raise NotFound(f"member {member_id} does not exist")
        return _member(row)

    async def find_member(self, group_id: int, *, mobile: str) -> Member | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(members).where(
                        members.c.group_id == group_id, members.c.mobile == mobile
                    )
                )
            ).first()
        return None if row is None else _member(row)

    async def remove_member(self, member_id: int) -> None:
        async with self.engine.begin() as conn:
            result = await conn.execute(sa.delete(members).where(members.c.id == member_id))
            if result.rowcount == 0:
                raise NotFound(f"member {member_id} does not exist")
            await self._bump(conn)

    # -- robots --------------------------------------------------------------------------------

    async def create_robot(
        self,
        group_id: int,
        *,
        name: str,
        kind: RobotKind = RobotKind.CUSTOM,
        keywords: Sequence[str] = (),
        signing: bool = False,
        ip_allow: Sequence[str] = (),
        rate_limit: RateLimit = DEFAULT_RATE_LIMIT,
        overflow: Overflow = Overflow.REJECT,
        avatar_url: str = "",
        settings: dict[str, Any] | None = None,
        enabled: bool = True,
        upstream: Upstream | None = None,
        outgoing: Outgoing | None = None,
    ) -> Robot:
        """Create a robot. An ``outgoing`` target must have passed
        :func:`gong.outgoing.guard.check_outgoing` (it resolves the host) first."""
        name = _required(name, "robot name")
        clean_keywords, clean_ips = check_settings(
            kind=kind, keywords=keywords, signing=signing, ip_allow=ip_allow, rate_limit=rate_limit
        )
        clean_settings = check_robot_settings(kind, settings or {})
        group = await self.get_group(group_id)
        if group.dissolved:
            raise Invalid(f"group {group_id} is dissolved")
        access_token = generate_token()
        settings = dict(clean_settings)
        if upstream is not None:
            upstream = check_upstream(upstream, access_token)
            await self._check_relay_loop(access_token, upstream)
            settings["upstream"] = upstream.to_settings()
        if outgoing is not None:
            settings["outgoing"] = check_outgoing_settings(outgoing).to_settings()
        now = self.clock.now_ms()
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    robots.insert()
                    .values(
                        group_id=group_id,
                        name=name,
                        kind=str(kind),
                        access_token=access_token,
                        secret=generate_secret() if signing else None,
                        keywords=list(clean_keywords),
                        ip_allow=list(clean_ips),
                        enabled=enabled,
                        rate_limit=rate_limit.limit,
                        rate_window=rate_limit.window_s,
                        rate_block=rate_limit.block_s,
                        overflow=str(overflow),
                        avatar_url=avatar_url,
                        settings=settings,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(*robots.c)
                )
            ).one()
            await conn.execute(robot_stats.insert().values(robot_id=row.id, accepted=0, refused=0))
            await self._bump(conn)
        return _robot(row)

    async def get_robot(self, robot_id: int) -> Robot:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(robots).where(robots.c.id == robot_id))).first()
        if row is None:
            raise NotFound(f"robot {robot_id} does not exist")
        return _robot(row)

    async def list_robots(self, group_id: int | None = None) -> list[Robot]:
        query = sa.select(robots).order_by(robots.c.id)
        if group_id is not None:
            query = query.where(robots.c.group_id == group_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_robot(r) for r in rows]

    async def update_robot(
        self,
        robot_id: int,
        *,
        name: str | None = None,
        keywords: Sequence[str] | None = None,
        signing: bool | None = None,
        ip_allow: Sequence[str] | None = None,
        rate_limit: RateLimit | None = None,
        overflow: Overflow | None = None,
        avatar_url: str | None = None,
        enabled: bool | None = None,
        settings: dict[str, Any] | None = None,
        upstream: Upstream | None = None,
        clear_upstream: bool = False,
        outgoing: Outgoing | None = None,
        clear_outgoing: bool = False,
    ) -> Robot:
        """Change some settings; the result must still satisfy every rule.

        ``settings`` replaces the robot's settings as a whole (see
        :func:`gong.integrations.config.merge_settings` to change some keys).
        ``upstream`` sets the relay target, ``clear_upstream`` removes it (deliveries still
        queued then fail). ``outgoing`` sets the callback target (checked by
        :func:`gong.outgoing.guard.check_outgoing` first), ``clear_outgoing`` removes it.
        """
        current = await self.get_robot(robot_id)
        new_keywords = current.keywords if keywords is None else tuple(keywords)
        new_signing = (current.secret is not None) if signing is None else signing
        new_ips = current.ip_allow if ip_allow is None else tuple(ip_allow)
        new_limit = current.rate_limit if rate_limit is None else rate_limit
        clean_keywords, clean_ips = check_settings(
            kind=current.kind,
            keywords=new_keywords,
            signing=new_signing,
            ip_allow=new_ips,
            rate_limit=new_limit,
        )
        values: dict[str, Any] = {
            "keywords": list(clean_keywords),
            "ip_allow": list(clean_ips),
            "rate_limit": new_limit.limit,
            "rate_window": new_limit.window_s,
            "rate_block": new_limit.block_s,
            "updated_at": self.clock.now_ms(),
        }
        if new_signing and current.secret is None:
            values["secret"] = generate_secret()
        elif not new_signing:
            values["secret"] = None
        if name is not None:
            values["name"] = _required(name, "robot name")
        if overflow is not None:
            values["overflow"] = str(overflow)
        if avatar_url is not None:
            values["avatar_url"] = avatar_url
        if enabled is not None:
            values["enabled"] = enabled
        if (
            settings is not None
            or upstream is not None
            or clear_upstream
            or outgoing is not None
            or clear_outgoing
        ):
            merged = dict(
                current.settings
                if settings is None
                else check_robot_settings(current.kind, settings)
            )
            if clear_upstream:
                merged.pop("upstream", None)
            if upstream is not None:
                upstream = check_upstream(upstream, current.access_token)
                await self._check_relay_loop(current.access_token, upstream)
                merged["upstream"] = upstream.to_settings()
            if clear_outgoing:
                merged.pop("outgoing", None)
            if outgoing is not None:
                merged["outgoing"] = check_outgoing_settings(outgoing).to_settings()
            values["settings"] = merged
        return await self._update_robot(robot_id, values)

    async def _check_relay_loop(self, own_token: str, upstream: Upstream) -> None:
        """Refuse an upstream that leads, through robots of this Gong, back to the robot."""
        token = upstream_token(upstream.url)
        for _ in range(32):
            if token is None:
                return
            if hmac.compare_digest(token, own_token):
                raise Invalid("this upstream relays back to the robot itself: a loop")
            async with self.engine.connect() as conn:
                row = (
                    await conn.execute(sa.select(robots).where(robots.c.access_token == token))
                ).first()
            following = None if row is None else _robot(row).upstream
            token = None if following is None else upstream_token(following.url)
        raise Invalid("the relay chain of this upstream is too long")

    async def _update_robot(self, robot_id: int, values: dict[str, Any]) -> Robot:
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    sa.update(robots)
                    .where(robots.c.id == robot_id)
                    .values(values)
                    .returning(*robots.c)
                )
            ).first()
            if row is None:
                raise NotFound(f"robot {robot_id} does not exist")
            await self._bump(conn)
        return _robot(row)

    async def rotate_token(self, robot_id: int) -> Robot:
        return await self._update_robot(
            robot_id, {"access_token": generate_token(), "updated_at": self.clock.now_ms()}
        )

    async def rotate_secret(self, robot_id: int) -> Robot:
        return await self._update_robot(
            robot_id, {"secret": generate_secret(), "updated_at": self.clock.now_ms()}
        )

    async def set_enabled(self, robot_id: int, enabled: bool) -> Robot:
        return await self._update_robot(
            robot_id, {"enabled": enabled, "updated_at": self.clock.now_ms()}
        )

    async def delete_robot(self, robot_id: int) -> None:
        async with self.engine.begin() as conn:
            result = await conn.execute(sa.delete(robots).where(robots.c.id == robot_id))
            if result.rowcount == 0:
                raise NotFound(f"robot {robot_id} does not exist")
            await conn.execute(sa.delete(robot_stats).where(robot_stats.c.robot_id == robot_id))
            await self._bump(conn)

    async def robot_kinds(self) -> dict[str, int]:
        """How many robots there are of each kind."""
        query = sa.select(robots.c.kind, sa.func.count()).group_by(robots.c.kind)
        async with self.engine.connect() as conn:
            return {kind: int(n) for kind, n in (await conn.execute(query)).all()}

    async def robot_stats(self, robot_id: int) -> dict[str, int]:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(sa.select(robot_stats).where(robot_stats.c.robot_id == robot_id))
            ).first()
        return {"accepted": row.accepted if row else 0, "refused": row.refused if row else 0}

    async def robot_view(self, access_token: str) -> RobotView | None:
        """Everything the send path needs about the robot with this token, or None."""
        return (await self.robot_views([access_token])).get(access_token)

    async def robot_views(self, access_tokens: Sequence[str]) -> dict[str, RobotView]:
        """The views of the robots with these tokens (unknown tokens are left out), loaded with
        a few queries however many there are."""
        found: dict[str, RobotView] = {}
        wanted = list(dict.fromkeys(access_tokens))
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = (
                    await conn.execute(sa.select(robots).where(robots.c.access_token.in_(chunk)))
                ).all()
                found.update(await _views(conn, rows))
        return found

    async def all_robot_views(self, limit: int) -> dict[str, RobotView]:
        """The views of (at most ``limit``) robots, newest first: three queries in all."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(sa.select(robots).order_by(robots.c.id.desc()).limit(limit))
            ).all()
            return await _views(conn, rows)

    # -- messages ------------------------------------------------------------------------------

    async def list_messages(
        self,
        group_id: int,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = 50,
        viewer: int | None = None,
    ) -> list[StoredMessage]:
        """Messages of a group: newest first below ``before``, or oldest first above ``after``.

        ``viewer`` is the account reading (its own notes are included); None reads only what the
        whole group sees.
        """
        query = sa.select(messages).where(messages.c.group_id == group_id, visible_to(viewer))
        if after is not None:
            query = query.where(messages.c.id > after).order_by(messages.c.id.asc())
        else:
            if before is not None:
                query = query.where(messages.c.id < before)
            query = query.order_by(messages.c.id.desc())
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.limit(limit))).all()
        return [_message(r) for r in rows]

    async def get_message(self, message_id: int, viewer: int | None = None) -> StoredMessage:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(messages).where(messages.c.id == message_id, visible_to(viewer))
                )
            ).first()
        if row is None:
            raise NotFound(f"message {message_id} does not exist")
        return _message(row)

    async def count_messages(self, group_id: int | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(messages)
        if group_id is not None:
            query = query.where(messages.c.group_id == group_id)
        async with self.engine.connect() as conn:
            return int(await conn.scalar(query) or 0)

    # -- refusals ------------------------------------------------------------------------------

    async def list_refusals(self, robot_id: int, limit: int = 50) -> list[Refusal]:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(refusals)
                    .where(refusals.c.robot_id == robot_id)
                    .order_by(refusals.c.id.desc())
                    .limit(limit)
                )
            ).all()
        return [_refusal(r) for r in rows]

    # -- housekeeping --------------------------------------------------------------------------

    async def prune(self, *, keep_refusals: int, now_ms: int) -> None:
        """Drop refusals beyond the newest ``keep_refusals`` per robot, and expired msgUuids."""
        newer = sa.alias(refusals, "newer")
        cutoff = (
            sa.select(newer.c.id)
            .where(newer.c.robot_id == refusals.c.robot_id)
            .order_by(newer.c.id.desc())
            .limit(1)
            .offset(keep_refusals - 1)
            .scalar_subquery()
        )
        async with self.engine.begin() as conn:
            await conn.execute(sa.delete(refusals).where(refusals.c.id < cutoff))
            await conn.execute(sa.delete(message_uuids).where(message_uuids.c.expires_at < now_ms))


def _required(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid(f"{what} cannot be empty")
    if len(value) > 200:
        raise Invalid(f"{what} is longer than 200 characters")
    return value
