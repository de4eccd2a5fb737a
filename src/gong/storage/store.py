"""The domain's :class:`~gong.domain.ports.MessageStore`, backed by the group-commit writer."""

from __future__ import annotations

from gong.domain.models import NewMessage
from gong.domain.ports import StoreResult
from gong.storage.repository import RefusalWrite
from gong.storage.writer import Writer

__all__ = ["WriterStore"]


class WriterStore:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    async def store(self, message: NewMessage) -> StoreResult:
        result: StoreResult = await self._writer.submit(message)
        return result

    def record_refusal(
        self, robot_id: int, errcode: int, errmsg: str, reason: str, ip: str, at_ms: int
    ) -> None:
        self._writer.submit_nowait(RefusalWrite(robot_id, errcode, errmsg, reason, ip, at_ms))
