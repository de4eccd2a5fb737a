from __future__ import annotations

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.models import NewMessage, SenderType
from gong.runtime import Runtime


async def test_store_and_read(db_settings: Settings) -> None:
    runtime = await Runtime.open(db_settings, clock=ManualClock())
    try:
        group = await runtime.repository.create_group("g")
        robot = await runtime.repository.create_robot(group.id, name="r", keywords=["k"])
        msg = NewMessage(
            group_id=group.id,
            robot_id=robot.id,
            sender_type=SenderType.ROBOT,
            sender_name="r",
            msgtype="text",
            payload="{}",
            content={"a": 1},
            created_at=1,
            msg_uuid="u1",
            dedup_until=100,
        )
        first = await runtime.hub.store.store(msg)
        second = await runtime.hub.store.store(msg)
        assert first.message_id == 1
        assert not first.duplicate
        assert second.duplicate
        assert (await runtime.repository.robot_stats(robot.id))["accepted"] == 1
    finally:
        await runtime.close()
