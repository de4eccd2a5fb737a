"""The domain's :class:`~gong.domain.ports.MessageStore`, backed by the group-commit writer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from gong.domain.hints import Hint
from gong.domain.models import HeldMessage, IgnoreReason, NewMessage
from gong.domain.ports import FiringMark, StoreResult
from gong.protocol.errors import Errors, RobotError
from gong.storage.alerts import SqlAlerts
from gong.storage.ignored import IgnoredWrite
from gong.storage.messages import RefusalWrite
from gong.storage.outbox import Outbox
from gong.storage.writer import Writer, refused_by_database

__all__ = ["WriterStore"]

log = logging.getLogger(__name__)


class WriterStore:
    def __init__(
        self,
        writer: Writer,
        outbox: Outbox,
        on_relay: Callable[[int | None], None] | None = None,
    ) -> None:
        self._writer = writer
        self._outbox = outbox
        self._alerts = SqlAlerts(outbox.engine)
        #: Called after a message bound for the relay is committed (wakes the relay worker).
        self.on_relay = on_relay

    async def store(self, message: NewMessage) -> StoreResult:
        """Store durably; returns only after the message is committed.

        Raises:
            RobotError: 400402 ``message_unstorable`` when the database refused this message
                for what it holds (resending it cannot succeed, so it is not ``-1``); the
                protocol checks should have caught it, so the cause is logged.
        """
        try:
            result: StoreResult = await self._writer.submit(message)
        except Exception as exc:
            if not refused_by_database(exc):
                raise
            log.warning(
                "the database refused a message of robot %s in group %d: %s",
                message.robot_id,
                message.group_id,
                exc,
            )
            raise RobotError(Errors.MESSAGE_UNSTORABLE) from exc
        if message.relay and self.on_relay is not None and not result.duplicate:
            self.on_relay(message.robot_id)
        return result

    def record_refusal(
        self,
        robot_id: int,
        errcode: int,
        errmsg: str,
        reason: str,
        ip: str,
        at_ms: int,
        hint: Hint | None = None,
    ) -> None:
        self._writer.submit_nowait(
            RefusalWrite(
                robot_id,
                errcode,
                errmsg,
                reason,
                ip,
                at_ms,
                hint.code.value if hint else None,
                dict(hint.params) if hint else None,
            )
        )

    async def record_ignored(
        self, robot_id: int, event: str, reason: IgnoreReason, detail: str, at_ms: int
    ) -> None:
        await self._writer.submit(IgnoredWrite(robot_id, event, reason, detail, at_ms))

    async def held_messages(self, robot_id: int, limit: int) -> list[HeldMessage]:
        return await self._outbox.held_messages(robot_id, limit)

    async def firing_alerts(
        self,
        robot_id: int,
        *,
        fingerprints: Sequence[str] = (),
        group_key: str | None = None,
    ) -> list[FiringMark]:
        return await self._alerts.firing_alerts(
            robot_id, fingerprints=fingerprints, group_key=group_key
        )
