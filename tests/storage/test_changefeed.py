"""The change feed publishes what another process stored, once, in id order.

Two runtimes share one database (each backend in turn): ``here`` runs the feed, driven by a
:class:`ManualClock` of the test's own; ``other`` stands for ``gong post`` (it publishes only on
its own in-memory broker). A tick happens when the test moves the feed's clock. That a running
server shows what a real ``gong post`` stored, with the real clock, is proven end to end by
``tests/outgoing/test_server.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any, cast

import orjson
import pytest

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.specs import RobotSpec
from gong.protocol.messages import parse_message
from gong.pubsub.memory import MemoryBroker, MemorySubscription
from gong.runtime import Runtime
from gong.storage.changefeed import EVERY_S, ChangeFeed

TICK_MS = int(EVERY_S * 1000)


async def open_runtime(settings: Settings) -> Runtime:
    return await Runtime.open(
        settings.model_copy(update={"relay_enabled": False}), clock=ManualClock()
    )


@pytest.fixture
async def here(db_settings: Settings) -> AsyncIterator[Runtime]:
    rt = await open_runtime(db_settings)
    try:
        yield rt
    finally:
        await rt.close()


@pytest.fixture
async def other(db_settings: Settings, here: Runtime) -> AsyncIterator[Runtime]:
    rt = await open_runtime(db_settings)
    try:
        yield rt
    finally:
        await rt.close()


class Feed:
    def __init__(self, runtime: Runtime) -> None:
        self.clock = ManualClock()
        self.feed = ChangeFeed(runtime.engine, runtime.broker, clock=self.clock)
        runtime.hub.on_stored = self.feed.stored_here

    async def tick(self) -> None:
        """One tick of the feed: move its clock, wait until the tick is done."""
        self.clock.advance(TICK_MS)
        await asyncio.wait_for(self.clock.sleeping(), 5)


@pytest.fixture
async def feed(here: Runtime) -> AsyncIterator[Feed]:
    f = Feed(here)
    await f.feed.start()
    await asyncio.wait_for(f.clock.sleeping(), 5)
    try:
        yield f
    finally:
        await f.feed.stop()


async def listen(runtime: Runtime, *channels: str) -> MemorySubscription:
    return await cast(MemoryBroker, runtime.broker).subscribe(*channels)


def published(subscription: MemorySubscription) -> list[bytes]:
    """The events published so far (the memory broker delivers as it publishes)."""
    events = []
    while not subscription.queue.empty():
        events.append(subscription.queue.get_nowait())
    return events


def texts(events: list[bytes]) -> list[tuple[int, str]]:
    return [
        (e["id"], e["content"]["text"]["content"]) for e in (orjson.loads(raw) for raw in events)
    ]


async def post(runtime: Runtime, group_id: int, words: str, **extra: Any) -> int:
    result = await runtime.hub.post_as_user(
        group_id=group_id,
        user_id=None,
        name="cli",
        message=parse_message({"msgtype": "text", "text": {"content": words}, **extra}),
        members=[],
    )
    assert result.message_id is not None
    return result.message_id


async def test_messages_of_another_process_are_published_once_in_order(
    here: Runtime, other: Runtime, feed: Feed
) -> None:
    group = await here.groups.create("ops")
    live = await listen(here, f"group:{group.id}")
    one = await post(other, group.id, "one")
    two = await post(other, group.id, "two")
    three = (await here.hub.post_system_note(group.id, "three")).message_id
    assert texts(published(live)) == [(three, "three")]  # this process publishes its own at once
    await feed.tick()  # the feed sees the new ids…
    assert published(live) == []
    await feed.tick()  # …and a tick later publishes the foreign ones
    assert texts(published(live)) == [(one, "one"), (two, "two")]
    for _ in range(3):
        await feed.tick()
    assert published(live) == []  # nothing twice, and never this process's own
    four = await post(other, group.id, "four")
    await feed.tick()
    await feed.tick()
    assert texts(published(live)) == [(four, "four")]


async def test_what_the_feed_publishes_is_what_the_storing_process_published(
    here: Runtime, other: Runtime, feed: Feed
) -> None:
    """The live event of a message, and the one built from it read back from storage, are the
    same bytes: whichever process a browser is connected to, it gets the same event."""
    group = await other.groups.create("ops")
    await other.groups.add_member(group.id, name="张三", mobile="13800000001", user_id="zhangsan")
    members = await other.groups.members(group.id)
    robot = await other.robots.create(RobotSpec(group_id=group.id, name="ci", keywords=["CI"]))
    view = await other.directory.get(robot.access_token)
    assert view is not None
    channels = (f"group:{group.id}", "user:9")
    there, here_live = await listen(other, *channels), await listen(here, *channels)
    body = {
        "msgtype": "text",
        "text": {"content": "CI failed @13800000001"},
        "at": {"atMobiles": ["13800000001", "13900000009"], "isAtAll": True},
        "msgUuid": "build-7",
    }
    await other.hub.accept_from_robot(view, parse_message(body), orjson.dumps(body).decode())
    await other.hub.post_as_user(
        group_id=group.id,
        user_id=4,
        name="张三",
        message=parse_message(
            {"msgtype": "markdown", "markdown": {"title": "t", "text": "# hi @zhangsan"}}
            | {"at": {"atUserIds": ["zhangsan"]}}
        ),
        members=members,
    )
    await other.hub.post_system_note(group.id, "only for 9", visible_to_user_id=9)
    live = published(there)
    assert len(live) == 3
    await feed.tick()
    await feed.tick()
    from_storage = published(here_live)
    assert from_storage == live
    decoded = [orjson.loads(e) for e in live]
    for sent, read_back in zip(decoded, (orjson.loads(e) for e in from_storage), strict=True):
        assert list(sent) == list(read_back)  # the same fields, in the same order
        for field in sent:
            assert sent[field] == read_back[field], field
    # What was compared is not trivial: mentions, unresolved numbers, a private note.
    assert decoded[0]["mentions"][0]["value"] == "13800000001"
    assert decoded[0]["unresolved"] == ["13900000009"] and decoded[0]["at_all"]
    assert decoded[1]["mentions"][0]["via"] == "userId"
    assert decoded[2]["visible_to_user_id"] == 9


async def test_a_failing_tick_is_logged_and_the_feed_goes_on(
    here: Runtime, other: Runtime, feed: Feed, caplog: pytest.LogCaptureFixture
) -> None:
    group = await here.groups.create("ops")
    live = await listen(here, f"group:{group.id}")
    one = await post(other, group.id, "one")
    newest = feed.feed._newest

    async def away() -> int:
        raise ConnectionError("database is away")

    feed.feed._newest = away  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="gong.storage.changefeed"):
        await feed.tick()
    assert [r.getMessage() for r in caplog.records] == ["change feed failed: database is away"]
    feed.feed._newest = newest  # type: ignore[method-assign]
    await feed.tick()
    await feed.tick()
    assert texts(published(live)) == [(one, "one")]


async def test_stop_ends_the_feed(here: Runtime) -> None:
    f = Feed(here)
    await f.feed.start()
    await asyncio.wait_for(f.clock.sleeping(), 5)
    await f.feed.stop()
    assert f.clock.sleepers == 0  # no tick is waiting any more
    await f.feed.stop()  # stopping twice is harmless
