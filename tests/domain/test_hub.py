"""The hub on in-memory backends and a manual clock: store, publish, limit, hold, summarise."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest

from gong.clock import ManualClock
from gong.domain.hints import Hint
from gong.domain.models import (
    Group,
    HeldMessage,
    Member,
    Mention,
    NewMessage,
    Overflow,
    RateLimit,
    Robot,
    RobotKind,
    RobotView,
    SenderType,
)
from gong.domain.ports import StoreResult
from gong.domain.service import Hub, group_channel, message_event, user_channel
from gong.protocol.errors import Dialect, Errors, RobotError
from gong.protocol.messages import Message, parse_message
from gong.pubsub.memory import MemoryBroker, MemorySubscription
from gong.ratelimit.memory import MemoryLimiter

GROUP = 7
DEDUP_MS = 3_600_000


class MemoryStore:
    """A :class:`~gong.domain.ports.MessageStore` in memory, with the database's rules: a
    robot's msgUuid is claimed until its ``dedup_until``; held messages wait apart, in order,
    until a summary names them."""

    def __init__(self) -> None:
        self.posted: dict[int, NewMessage] = {}
        self.held: dict[int, NewMessage] = {}
        self.summarised: set[int] = set()
        self.refusals: list[tuple[int, int, str, str, str, int]] = []
        self._uuids: dict[tuple[int, str], int] = {}
        self._next_id = 1

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    async def store(self, message: NewMessage) -> StoreResult:
        if message.msg_uuid and message.robot_id is not None and message.dedup_until is not None:
            key = (message.robot_id, message.msg_uuid)
            if self._uuids.get(key, message.created_at - 1) >= message.created_at:
                return StoreResult(None, duplicate=True)
            self._uuids[key] = message.dedup_until
        if message.held:
            self.held[self._id()] = message
            return StoreResult(None, held=True)
        message_id = self._id()
        self.posted[message_id] = message
        self.summarised.update(message.summary_of)
        return StoreResult(message_id)

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
        self.refusals.append((robot_id, errcode, errmsg, reason, ip, at_ms))

    async def held_messages(self, robot_id: int, limit: int) -> list[HeldMessage]:
        waiting = [
            HeldMessage(i, robot_id, m.group_id, m.sender_name, m.content, m.created_at)
            for i, m in sorted(self.held.items())
            if m.robot_id == robot_id and i not in self.summarised
        ]
        return waiting[:limit]


def member(member_id: int, name: str, mobile: str | None, user_id: str | None) -> Member:
    return Member(member_id, GROUP, name, mobile, user_id, 0)


MEMBERS = [
    member(31, "张三", "13800000001", "zhangsan"),
    member(32, "李四", "13800000002", "lisi"),
]


def view_of(
    robot_id: int = 5, *, rate_limit: RateLimit | None = None, overflow: Overflow = Overflow.REJECT
) -> RobotView:
    robot = Robot(
        id=robot_id,
        group_id=GROUP,
        name=f"robot {robot_id}",
        kind=RobotKind.CUSTOM,
        access_token="a" * 64,
        secret=None,
        keywords=(),
        ip_allow=(),
        enabled=True,
        rate_limit=rate_limit or RateLimit(),
        overflow=overflow,
        avatar_url="",
        settings={},
        created_at=0,
        updated_at=0,
    )
    return RobotView(
        robot=robot,
        group=Group(GROUP, "ops", False, 0),
        security=robot.security,
        members_by_mobile={m.mobile: m for m in MEMBERS if m.mobile},
        members_by_user_id={m.user_id: m for m in MEMBERS if m.user_id},
    )


def text(content: str, **extra: Any) -> tuple[Message, str]:
    body = {"msgtype": "text", "text": {"content": content}, **extra}
    return parse_message(body), orjson.dumps(body).decode()


class Setup:
    def __init__(self) -> None:
        self.clock = ManualClock(1_800_000_000_000)
        self.store = MemoryStore()
        self.limiter = MemoryLimiter()
        self.broker = MemoryBroker()
        self.hub = Hub(
            store=self.store,
            limiter=self.limiter,
            broker=self.broker,
            clock=self.clock,
            dedup_ms=DEDUP_MS,
        )

    async def send(self, view: RobotView, content: str, **extra: Any) -> StoreResult:
        message, payload = text(content, **extra)
        return await self.hub.accept_from_robot(view, message, payload)


@pytest.fixture
def hub() -> Setup:
    return Setup()


async def listen(broker: MemoryBroker, channel: str) -> MemorySubscription:
    return await broker.subscribe(channel)


def published(subscription: MemorySubscription) -> list[dict[str, Any]]:
    """The events published so far (the memory broker delivers as it publishes)."""
    events = []
    while not subscription.queue.empty():
        events.append(orjson.loads(subscription.queue.get_nowait()))
    return events


async def test_a_robot_message_is_stored_then_published_on_its_group(hub: Setup) -> None:
    group = await listen(hub.broker, group_channel(GROUP))
    view = view_of()
    hub.clock.advance(1234)
    message, payload = text("CI build 1 failed @13800000002", at={"atMobiles": ["13800000002"]})
    result = await hub.hub.accept_from_robot(view, message, payload)
    assert result.message_id is not None
    assert not result.duplicate and not result.held
    stored = hub.store.posted[result.message_id]
    assert stored.group_id == GROUP
    assert stored.robot_id == view.robot.id
    assert stored.sender_type is SenderType.ROBOT
    assert stored.sender_name == view.robot.name
    assert stored.payload == payload
    assert stored.content == message.to_wire()
    assert stored.created_at == hub.clock.now_ms()
    assert stored.mentions == [Mention(32, "李四", "mobile", "13800000002", True)]
    (event,) = published(group)
    assert event == orjson.loads(orjson.dumps(message_event(result.message_id, stored)))
    assert event["id"] == result.message_id
    assert event["type"] == "message"
    assert event["sender"] == {"type": "robot", "name": view.robot.name, "user_id": None}
    assert event["content"]["text"]["content"] == "CI build 1 failed @13800000002"
    assert event["mentions"] == [m.to_json() for m in stored.mentions]
    assert event["created_at"] == hub.clock.now_ms()
    assert "visible_to_user_id" not in event


async def test_the_hooks_see_each_stored_message_before_it_is_published(hub: Setup) -> None:
    group = await listen(hub.broker, group_channel(GROUP))
    seen: list[tuple[Any, ...]] = []
    # With the number of events published when the hook runs.
    hub.hub.on_stored = lambda message_id: seen.append(("stored", message_id, group.queue.qsize()))
    hub.hub.on_counted = lambda kind: seen.append(("counted", kind))
    first = await hub.send(view_of(), "one")
    second = await hub.hub.post_system_note(GROUP, "two")
    assert seen == [
        ("counted", "custom"),
        ("stored", first.message_id, 0),
        ("counted", "system"),
        ("stored", second.message_id, 1),
    ]
    assert [e["id"] for e in published(group)] == [first.message_id, second.message_id]


async def test_the_21st_message_in_a_minute_is_refused_and_the_block_lasts(hub: Setup) -> None:
    group = await listen(hub.broker, group_channel(GROUP))
    view = view_of()  # DingTalk's limit: 20 a minute, then a 10-minute block
    for i in range(20):
        hub.clock.advance(1_000)
        await hub.send(view, f"message {i}")
    assert len(hub.store.posted) == 20
    assert len(published(group)) == 20
    with pytest.raises(RobotError) as refused:
        await hub.send(view, "one too many")
    assert refused.value.error is Errors.RATE_LIMITED
    assert refused.value.errcode(Dialect.MODERN) == 410100
    blocked_at = hub.clock.now_ms()
    hub.clock.advance(60_000)  # the window has passed, the block has not
    with pytest.raises(RobotError):
        await hub.send(view, "still blocked")
    hub.clock.set(blocked_at + 600_000 - 1)
    with pytest.raises(RobotError):
        await hub.send(view, "a millisecond early")
    assert len(hub.store.posted) == 20
    assert published(group) == []  # nothing refused was published
    hub.clock.set(blocked_at + 600_000)
    result = await hub.send(view, "lifted")
    assert result.message_id is not None
    assert [e["content"]["text"]["content"] for e in published(group)] == ["lifted"]
    other = view_of(6)  # another robot's limit is its own
    assert (await hub.send(other, "unaffected")).message_id is not None


async def test_refuse_records_the_reason_at_the_clock_time(hub: Setup) -> None:
    view = view_of()
    hub.clock.advance(42)
    hub.hub.refuse(view, RobotError(Errors.RATE_LIMITED), "203.0.113.7")
    ((robot_id, errcode, errmsg, reason, ip, at),) = hub.store.refusals
    assert (robot_id, errcode, reason, ip, at) == (
        view.robot.id,
        410100,
        "rate_limited",
        "203.0.113.7",
        hub.clock.now_ms(),
    )
    assert errmsg == RobotError(Errors.RATE_LIMITED).errmsg(Dialect.MODERN)


async def test_digest_holds_the_overflow_and_posts_one_summary_when_there_is_room(
    hub: Setup,
) -> None:
    group = await listen(hub.broker, group_channel(GROUP))
    view = view_of(rate_limit=RateLimit(3, 60, 600), overflow=Overflow.DIGEST)
    results = [await hub.send(view, f"CI build {i} failed") for i in range(5)]
    assert [r.message_id is not None for r in results] == [True, True, True, False, False]
    assert [r.held for r in results] == [False, False, False, True, True]
    assert [e["content"]["text"]["content"] for e in published(group)] == [
        "CI build 0 failed",
        "CI build 1 failed",
        "CI build 2 failed",
    ]
    assert await hub.hub.flush_overflow(view.robot.id, view) is None  # the window is full
    assert published(group) == []
    hub.clock.advance(60_000)  # no block for a digest robot: room once the window has passed
    summary = await hub.hub.flush_overflow(view.robot.id, view)
    assert summary is not None and summary.message_id is not None
    stored = hub.store.posted[summary.message_id]
    assert stored.summary_of == sorted(hub.store.held)
    assert stored.robot_id == view.robot.id
    assert stored.created_at == hub.clock.now_ms()
    summary_text = orjson.dumps(stored.content).decode()
    assert "CI build 3 failed" in summary_text
    assert "CI build 4 failed" in summary_text
    assert "CI build 2 failed" not in summary_text
    (event,) = published(group)
    assert event["id"] == summary.message_id
    assert event["content"] == stored.content
    # Everything held is summarised: a second flush has nothing to post.
    assert await hub.hub.flush_overflow(view.robot.id, view) is None
    assert published(group) == []
    # The summary took a slot of the window.
    assert [(await hub.send(view, f"next {i}")).held for i in range(3)] == [False, False, True]


async def test_a_deleted_digest_robot_has_its_held_messages_summarised_at_once(
    hub: Setup,
) -> None:
    view = view_of(rate_limit=RateLimit(1, 60, 600), overflow=Overflow.DIGEST)
    await hub.send(view, "posted")
    held = await hub.send(view, "held")
    assert held.held
    summary = await hub.hub.flush_overflow(view.robot.id, None)  # no room needed
    assert summary is not None and summary.message_id is not None
    assert hub.store.posted[summary.message_id].sender_name == view.robot.name


async def test_a_msg_uuid_is_remembered_for_the_dedup_window_of_the_clock(hub: Setup) -> None:
    view = view_of()
    first = await hub.send(view, "deploy", msgUuid="u-1")
    assert first.message_id is not None
    stored = hub.store.posted[first.message_id]
    assert stored.msg_uuid == "u-1"
    assert "msgUuid" not in stored.content
    assert stored.dedup_until == hub.clock.now_ms() + DEDUP_MS
    hub.clock.advance(DEDUP_MS - 1)
    again = await hub.send(view, "deploy", msgUuid="u-1")
    assert again.duplicate and again.message_id is None
    assert (await hub.send(view_of(6), "deploy", msgUuid="u-1")).message_id is not None
    hub.clock.advance(2)  # the window has passed: the same msgUuid is a new message
    later = await hub.send(view, "deploy", msgUuid="u-1")
    assert later.message_id is not None and not later.duplicate
    assert hub.store.posted[later.message_id].dedup_until == hub.clock.now_ms() + DEDUP_MS
    without = await hub.send(view, "no uuid")
    assert without.message_id is not None
    assert hub.store.posted[without.message_id].dedup_until is None


async def test_post_as_user_resolves_mentions_against_the_members(hub: Setup) -> None:
    group = await listen(hub.broker, group_channel(GROUP))
    message = parse_message(
        {
            "msgtype": "text",
            "text": {"content": "@13800000001 please look"},
            "at": {"atMobiles": ["13800000001", "13900000009"], "atUserIds": ["lisi"]},
            "msgUuid": "from-the-composer",
        }
    )
    hub.clock.advance(5)
    result = await hub.hub.post_as_user(
        group_id=GROUP, user_id=3, name="王五", message=message, members=MEMBERS
    )
    assert result.message_id is not None
    stored = hub.store.posted[result.message_id]
    assert stored.mentions == [
        Mention(31, "张三", "mobile", "13800000001", True),
        Mention(32, "李四", "userId", "lisi", False),
    ]
    assert stored.unresolved == ["13900000009"]
    assert stored.sender_type is SenderType.USER
    assert (stored.sender_user_id, stored.sender_name, stored.robot_id) == (3, "王五", None)
    assert stored.created_at == hub.clock.now_ms()
    assert "msgUuid" not in stored.content
    assert orjson.loads(stored.payload) == stored.content
    (event,) = published(group)
    assert event["mentions"] == [m.to_json() for m in stored.mentions]
    assert event["unresolved"] == ["13900000009"]
    assert event["sender"] == {"type": "user", "name": "王五", "user_id": 3}
    # A given time (an import) is kept; no rate limit applies to people.
    for _ in range(30):
        await hub.hub.post_as_user(
            group_id=GROUP, user_id=3, name="王五", message=message, members=[], created_at=99
        )
    assert [e["created_at"] for e in published(group)] == [99] * 30


async def test_a_note_for_one_account_is_published_on_its_channel_only(hub: Setup) -> None:
    group = await listen(hub.broker, group_channel(GROUP))
    mine = await listen(hub.broker, user_channel(3))
    someone_else = await listen(hub.broker, user_channel(4))
    private = await hub.hub.post_system_note(GROUP, "only you", visible_to_user_id=3)
    assert private.message_id is not None
    assert hub.store.posted[private.message_id].visible_to_user_id == 3
    (event,) = published(mine)
    assert event["id"] == private.message_id
    assert event["visible_to_user_id"] == 3
    assert event["sender"] == {"type": "system", "name": "Gong", "user_id": None}
    assert event["content"] == {"msgtype": "text", "text": {"content": "only you"}}
    assert published(group) == []
    assert published(someone_else) == []
    public = await hub.hub.post_system_note(GROUP, "everyone")
    assert [e["id"] for e in published(group)] == [public.message_id]
    assert published(mine) == []


async def test_a_failing_publish_still_returns_the_stored_result(
    hub: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    async def down(channel: str, event: bytes) -> None:
        raise ConnectionError("broker is down")

    hub.broker.publish = down  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="gong.domain.service"):
        result = await hub.send(view_of(), "stored anyway")
    assert result.message_id is not None
    assert hub.store.posted[result.message_id].content["text"]["content"] == "stored anyway"
    assert any(
        f"live fan-out of message {result.message_id} failed" in r.getMessage()
        for r in caplog.records
    )
