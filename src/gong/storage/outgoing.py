"""Outgoing robots' storage: the sessionWebhooks robots answer through, and the callback log."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gong.domain.models import OutgoingCall, RobotSession
from gong.storage.schema import outgoing_calls, robot_sessions

__all__ = ["CALLS_KEPT", "OutgoingStore"]

#: Callback records kept per robot (older ones are pruned).
CALLS_KEPT = 500


def _call(row: Any) -> OutgoingCall:
    return OutgoingCall(
        id=row.id,
        robot_id=row.robot_id,
        group_id=row.group_id,
        message_id=row.message_id,
        sender_user_id=row.sender_user_id,
        state=row.state,
        attempts=row.attempts,
        http_status=row.http_status,
        error=row.error,
        duration_ms=row.duration_ms,
        answer_message_id=row.answer_message_id,
        created_at=row.created_at,
    )


class OutgoingStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create_session(self, session: RobotSession) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                robot_sessions.insert().values(
                    session=session.session,
                    robot_id=session.robot_id,
                    group_id=session.group_id,
                    message_id=session.message_id,
                    created_at=session.created_at,
                    expires_at=session.expires_at,
                )
            )

    async def find_session(self, session: str, now_ms: int) -> RobotSession | None:
        """The session if it exists and has not expired."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(robot_sessions).where(
                        robot_sessions.c.session == session, robot_sessions.c.expires_at > now_ms
                    )
                )
            ).first()
        if row is None:
            return None
        return RobotSession(
            session=row.session,
            robot_id=row.robot_id,
            group_id=row.group_id,
            message_id=row.message_id,
            created_at=row.created_at,
            expires_at=row.expires_at,
        )

    async def record_call(
        self,
        *,
        robot_id: int,
        group_id: int,
        message_id: int,
        sender_user_id: int | None,
        state: str,
        attempts: int,
        http_status: int | None,
        error: str,
        duration_ms: int,
        answer_message_id: int | None,
        created_at: int,
    ) -> OutgoingCall:
        values = {
            "robot_id": robot_id,
            "group_id": group_id,
            "message_id": message_id,
            "sender_user_id": sender_user_id,
            "state": state,
            "attempts": attempts,
            "http_status": http_status,
            "error": error,
            "duration_ms": duration_ms,
            "answer_message_id": answer_message_id,
            "created_at": created_at,
        }
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    outgoing_calls.insert().values(values).returning(*outgoing_calls.c)
                )
            ).one()
        return _call(row)

    async def calls(
        self, robot_id: int, *, before: int | None = None, limit: int = 50
    ) -> list[OutgoingCall]:
        """A robot's callback records, newest first."""
        query = sa.select(outgoing_calls).where(outgoing_calls.c.robot_id == robot_id)
        if before is not None:
            query = query.where(outgoing_calls.c.id < before)
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(query.order_by(outgoing_calls.c.id.desc()).limit(limit))
            ).all()
        return [_call(r) for r in rows]

    async def prune(self, now_ms: int, keep: int = CALLS_KEPT) -> None:
        """Drop expired sessions, and callback records beyond the newest ``keep`` per robot."""
        newer = sa.alias(outgoing_calls, "newer")
        cutoff = (
            sa.select(newer.c.id)
            .where(newer.c.robot_id == outgoing_calls.c.robot_id)
            .order_by(newer.c.id.desc())
            .limit(1)
            .offset(keep - 1)
            .scalar_subquery()
        )
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.delete(robot_sessions).where(robot_sessions.c.expires_at <= now_ms)
            )
            await conn.execute(sa.delete(outgoing_calls).where(outgoing_calls.c.id < cutoff))
