"""Accounts' Web Push subscriptions (``push_subscriptions``), each change in a short transaction.

An endpoint is one browser's subscription: saving it again (the browser renewed its keys, or
another account signed in there) replaces the keys and the account. An account keeps at most
:data:`~gong.domain.push.MAX_PER_ACCOUNT` of them; a new one beyond that replaces the oldest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gong.clock import Clock
from gong.domain.push import MAX_PER_ACCOUNT, PushSubscription
from gong.storage.rows import insert_for
from gong.storage.schema import push_subscriptions

__all__ = ["SqlPushStore"]


def _subscription(row: Any) -> PushSubscription:
    return PushSubscription(
        id=int(row.id),
        user_id=int(row.user_id),
        endpoint=row.endpoint,
        p256dh=row.p256dh,
        auth=row.auth,
        failures=int(row.failures),
    )


class SqlPushStore:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    async def save(self, user_id: int, subscription: PushSubscription) -> PushSubscription:
        table = push_subscriptions
        async with self.engine.begin() as conn:
            stmt = insert_for(conn)(table).values(
                user_id=user_id,
                endpoint=subscription.endpoint,
                p256dh=subscription.p256dh,
                auth=subscription.auth,
                created_at=self.clock.now_ms(),
                failures=0,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[table.c.endpoint],
                set_={
                    "user_id": stmt.excluded.user_id,
                    "p256dh": stmt.excluded.p256dh,
                    "auth": stmt.excluded.auth,
                    "created_at": stmt.excluded.created_at,
                    "failures": 0,
                },
            ).returning(*table.c)
            row = (await conn.execute(stmt)).one()
            keep = (
                sa.select(table.c.id)
                .where(table.c.user_id == user_id)
                .order_by(table.c.created_at.desc(), table.c.id.desc())
                .limit(MAX_PER_ACCOUNT)
            )
            await conn.execute(
                sa.delete(table).where(table.c.user_id == user_id, table.c.id.not_in(keep))
            )
        return _subscription(row)

    async def remove(self, endpoint: str, user_id: int | None = None) -> bool:
        query = sa.delete(push_subscriptions).where(push_subscriptions.c.endpoint == endpoint)
        if user_id is not None:
            query = query.where(push_subscriptions.c.user_id == user_id)
        async with self.engine.begin() as conn:
            result = await conn.execute(query)
        return bool(result.rowcount)

    async def of_users(self, user_ids: set[int]) -> list[PushSubscription]:
        if not user_ids:
            return []
        query = (
            sa.select(push_subscriptions)
            .where(push_subscriptions.c.user_id.in_(sorted(user_ids)))
            .order_by(push_subscriptions.c.id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_subscription(r) for r in rows]

    async def delivered(self, subscription_ids: Sequence[int], at_ms: int) -> None:
        if not subscription_ids:
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(push_subscriptions)
                .where(push_subscriptions.c.id.in_(sorted(set(subscription_ids))))
                .values(failures=0, last_ok_at=at_ms)
            )

    async def failed(self, subscription_id: int, max_failures: int) -> bool:
        table = push_subscriptions
        async with self.engine.begin() as conn:
            failures = await conn.scalar(
                sa.update(table)
                .where(table.c.id == subscription_id)
                .values(failures=table.c.failures + 1)
                .returning(table.c.failures)
            )
            if failures is not None and failures >= max_failures:
                await conn.execute(sa.delete(table).where(table.c.id == subscription_id))
                return True
        return False
