"""The change feed publishes what another process stored, once, in id order."""

from __future__ import annotations

import asyncio

import orjson

from gong.config import Settings
from gong.domain.service import group_channel
from gong.protocol.messages import parse_message
from gong.runtime import Runtime
from gong.web.app import GongApp


async def test_messages_of_another_process_are_published_once(
    app: GongApp, sqlite_settings: Settings
) -> None:
    repo = app.runtime.repository
    group = await repo.create_group("ops")
    live = await app.runtime.broker.subscribe(group_channel(group.id))
    events = aiter(live)
    other = await Runtime.open(sqlite_settings.model_copy(update={"relay_enabled": False}))
    try:
        for words in ("one", "two"):
            await other.hub.post_as_user(
                group_id=group.id,
                user_id=None,
                name="cli",
                message=parse_message({"msgtype": "text", "text": {"content": words}}),
                members=[],
            )
    finally:
        await other.close()
    # and one stored by this process, which it publishes itself
    await app.runtime.hub.post_system_note(group.id, "three")
    got = [orjson.loads(await asyncio.wait_for(anext(events), 3)) for _ in range(3)]
    assert got[0]["content"]["text"]["content"] == "three"  # at once
    assert [(e["id"], e["content"]["text"]["content"]) for e in got[1:]] == [(1, "one"), (2, "two")]
    await asyncio.sleep(1.2)  # two more ticks: nothing is published twice
    try:
        extra = await asyncio.wait_for(anext(events), 0.1)
    except TimeoutError:
        extra = None
    assert extra is None
    await live.close()
