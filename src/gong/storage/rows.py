"""Row → record mappers and the small pieces every store shares.

Every change to groups, members or robots bumps ``meta.config_version`` in the same transaction;
each server polls it and drops its cached robot views, so a change made by any process (the CLI
included) takes effect everywhere within ``config_refresh_seconds``.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gong.domain.models import (
    Group,
    Member,
    Overflow,
    RateLimit,
    Refusal,
    Robot,
    RobotKind,
    SenderType,
    StoredMessage,
)
from gong.storage.schema import messages, meta

__all__ = [
    "CONFIG_VERSION",
    "bump_config_version",
    "group_of",
    "insert_for",
    "member_of",
    "message_of",
    "read_config_version",
    "refusal_of",
    "robot_of",
    "visible_to",
]

CONFIG_VERSION = "config_version"


# ---------------------------------------------------------------------------------------------
# Row → record


def group_of(row: Any) -> Group:
    return Group(
        id=row.id,
        name=row.name,
        dissolved=bool(row.dissolved),
        created_at=row.created_at,
        timezone=row.timezone,
        retention_days=row.retention_days,
        retention_count=row.retention_count,
    )


def member_of(row: Any) -> Member:
    return Member(
        id=row.id,
        group_id=row.group_id,
        name=row.name,
        mobile=row.mobile,
        user_id=row.user_id,
        created_at=row.created_at,
    )


def robot_of(row: Any) -> Robot:
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
        created_at=row.created_at,
        updated_at=row.updated_at,
        **Robot.split_settings(dict(row.settings or {})),
    )


def message_of(row: Any) -> StoredMessage:
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
        alert=orjson.loads(row.alert) if row.alert else None,
        repeat=row.repeat,
        recalled_at=row.recalled_at,
        recalled_by=row.recalled_by,
    )


def visible_to(user_id: int | None) -> sa.ColumnElement[bool]:
    """Messages ``user_id`` may read: the group's, and the notes only they see (None: the
    group's only — what admin tokens and the CLI read)."""
    public = messages.c.visible_to_user_id.is_(None)
    if user_id is None:
        return public
    return sa.or_(public, messages.c.visible_to_user_id == user_id)


def refusal_of(row: Any) -> Refusal:
    return Refusal(
        id=row.id,
        robot_id=row.robot_id,
        errcode=row.errcode,
        errmsg=row.errmsg,
        reason=row.reason,
        ip=row.ip,
        created_at=row.created_at,
        hint=row.hint,
        hint_params=orjson.loads(row.hint_params) if row.hint_params else {},
    )


# ---------------------------------------------------------------------------------------------
# Dialect and configuration version


def insert_for(conn: AsyncConnection | Connection) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL spell it alike)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


async def bump_config_version(conn: AsyncConnection) -> None:
    """Bump ``meta.config_version``; call it in the transaction of the change it announces."""
    insert = insert_for(conn)
    stmt = insert(meta).values(key=CONFIG_VERSION, value=1)
    stmt = stmt.on_conflict_do_update(index_elements=[meta.c.key], set_={"value": meta.c.value + 1})
    await conn.execute(stmt)


async def read_config_version(engine: AsyncEngine) -> int:
    """The current configuration version (0 before the first change)."""
    async with engine.connect() as conn:
        value = await conn.scalar(sa.select(meta.c.value).where(meta.c.key == CONFIG_VERSION))
    return int(value or 0)
