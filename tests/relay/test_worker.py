"""The relay worker against a fake DingTalk: signing, pacing, retries, pauses, dead letters.

Time is a manual clock moved by the test; the upstream is a real HTTP server.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from gong.config import Settings
from gong.domain.models import DeliveryState, Overflow, RateLimit, Upstream
from gong.protocol.messages import encode
from gong.schemas.records import SendOut
from tests.fakes import (
    BUSY,
    KEYWORD,
    OK,
    THROTTLED,
    THROTTLED_OLD,
    Answer,
    FakeDingTalk,
)
from tests.helpers import update_robot
from tests.relay.conftest import UPSTREAM_SECRET, Relay, open_relay

T0 = 1_800_000_000_000


def most_in_any_window(times: list[int], window: int = 60_000) -> int:
    return max((sum(1 for u in times if t <= u < t + window) for t in times), default=0)


@pytest.fixture
async def relay_on_each_backend(db_settings: Settings, fake: FakeDingTalk) -> AsyncIterator[Relay]:
    made = await open_relay(db_settings, fake)
    try:
        yield made
    finally:
        await made.worker.stop()
        await made.runtime.close()


async def test_a_message_is_forwarded_signed_with_a_msg_uuid(
    relay_on_each_backend: Relay,
) -> None:
    relay = relay_on_each_backend
    await relay.post(
        {
            "msgtype": "text",
            "text": {"content": "alert: disk full @13800000001"},
            "at": {"atMobiles": ["13800000001"]},
            "msgUuid": "from-sender",
        }
    )
    await relay.drive()
    [got] = relay.fake.received
    assert got.answered == 0
    assert got.query["timestamp"] == str(T0)
    uuid = got.body.pop("msgUuid")
    assert uuid.startswith("gong-")
    assert uuid != "from-sender"
    assert got.body == {
        "msgtype": "text",
        "text": {"content": "alert: disk full @13800000001"},
        "at": {"atMobiles": ["13800000001"], "atUserIds": [], "isAtAll": False},
    }
    [delivery] = await relay.runtime.outbox.deliveries(relay.robot.id)
    assert delivery.state is DeliveryState.SENT
    assert delivery.message_id is not None
    assert delivery.send is not None
    assert SendOut.of(delivery.send).model_dump(mode="json") == {
        "id": delivery.send.id,
        "kind": "single",
        "msgUuid": uuid,
        "items": 1,
        "state": "sent",
        "attempts": 1,
        "next_attempt_at": None,
        "last_attempt_at": T0,
        "errcode": None,
        "errmsg": None,
        "created_at": T0,
        "sent_at": T0,
    }


async def test_a_burst_is_folded_into_one_digest_with_every_original(
    relay_on_each_backend: Relay,
) -> None:
    relay = relay_on_each_backend
    await relay.post_alerts(100)
    await relay.drive()
    [digest] = relay.fake.delivered
    assert digest["msgtype"] == "markdown"
    text = digest["markdown"]["text"]
    for i in range(100):
        assert f"[alert {i:04d}](https://alerts.example.com/{i})" in text
    assert digest["markdown"]["title"] == "100 messages: alert 0000"
    assert len(encode(digest)) < 20_000
    counts = await relay.runtime.outbox.counts(relay.robot.id)
    assert counts == {"pending": 0, "sent": 0, "digested": 100, "failed": 0}


async def test_busy_and_network_errors_back_off_and_resend_the_same_uuid(relay: Relay) -> None:
    relay.fake.answer(BUSY, Answer(b"<html>bad gateway</html>", status=502), Answer(drop=True), OK)
    await relay.post_alerts(1)
    assert await relay.worker.step(relay.robot.id) == T0 + 1_000
    assert await relay.worker.step(relay.robot.id) == T0 + 1_000  # not due yet: no request
    assert len(relay.fake.received) == 1
    relay.clock.set(T0 + 1_000)
    assert await relay.worker.step(relay.robot.id) == T0 + 3_000
    relay.clock.set(T0 + 3_000)
    assert await relay.worker.step(relay.robot.id) == T0 + 7_000
    relay.clock.set(T0 + 7_000)
    await relay.drive()
    assert [r.answered for r in relay.fake.received] == [-1, None, None, 0]
    assert len({r.body["msgUuid"] for r in relay.fake.received}) == 1
    # The dropped answer had delivered it: the resend was deduplicated.
    assert len(relay.fake.delivered) == 1
    [delivery] = await relay.runtime.outbox.deliveries(relay.robot.id)
    assert delivery.state is DeliveryState.SENT
    assert delivery.send is not None
    assert delivery.send.attempts == 4


async def test_transient_errors_give_up_after_max_attempts(
    sqlite_settings: Settings, fake: FakeDingTalk
) -> None:
    relay = await open_relay(sqlite_settings, fake, max_attempts=3)
    try:
        fake.answer(BUSY, BUSY, BUSY)
        await relay.post_alerts(1)
        await relay.drive()
        [delivery] = await relay.runtime.outbox.deliveries(relay.robot.id)
        assert delivery.state is DeliveryState.FAILED
        assert delivery.send is not None
        assert (delivery.send.errcode, delivery.send.errmsg) == (
            -1,
            "gave up after 3 attempts: 系统繁忙",
        )
    finally:
        await relay.worker.stop()
        await relay.runtime.close()


@pytest.mark.parametrize("throttle", [THROTTLED, THROTTLED_OLD])
async def test_a_throttle_answer_pauses_the_upstream_for_its_block(
    relay: Relay, throttle: bytes
) -> None:
    relay.fake.answer(throttle)
    await relay.post_alerts(1)
    assert await relay.worker.step(relay.robot.id) == T0 + 600_000
    await relay.post_alerts(3, start=1)
    relay.clock.set(T0 + 599_000)
    assert await relay.worker.step(relay.robot.id) == T0 + 600_000
    assert len(relay.fake.received) == 1
    # A restarted worker learns of the pause from the database.
    fresh = relay.new_worker()
    await fresh.restore_pace(relay.robot.id)
    assert await fresh.step(relay.robot.id) == T0 + 600_000
    relay.clock.set(T0 + 600_000)
    await relay.drive()
    assert [r.answered for r in relay.fake.received] == [
        json.loads(throttle)["errcode"],
        0,
        0,
        0,
        0,
    ]
    counts = await relay.runtime.outbox.counts(relay.robot.id)
    assert counts == {"pending": 0, "sent": 4, "digested": 0, "failed": 0}


async def test_permanent_errors_are_dead_lettered_and_the_queue_moves_on(relay: Relay) -> None:
    relay.fake.answer(KEYWORD)
    await relay.post_alerts(2)
    await relay.drive()
    first, second = sorted(
        await relay.runtime.outbox.deliveries(relay.robot.id), key=lambda d: d.id
    )
    assert first.state is DeliveryState.FAILED
    assert first.send is not None
    assert first.send.errcode == 310000
    assert first.send.errmsg is not None
    assert first.send.errmsg.startswith("description:关键词不匹配")
    assert second.state is DeliveryState.SENT
    assert len(relay.fake.received) == 2


async def test_a_wrong_upstream_secret_fails_with_the_signature_error(
    sqlite_settings: Settings, fake: FakeDingTalk
) -> None:
    wrong = Upstream(url=fake.url, secret="SEC" + "00" * 32)
    relay = await open_relay(sqlite_settings, fake, upstream=wrong)
    try:
        await relay.post_alerts(1)
        await relay.drive()
        [delivery] = await relay.runtime.outbox.deliveries(relay.robot.id)
        assert delivery.state is DeliveryState.FAILED
        assert delivery.send is not None
        assert delivery.send.errcode == 310000
        assert "签名不匹配" in (delivery.send.errmsg or "")
        assert delivery.send.attempts == 1
    finally:
        await relay.worker.stop()
        await relay.runtime.close()


async def test_a_steady_flood_never_exceeds_the_limit_and_loses_nothing(relay: Relay) -> None:
    """Three minutes of 20 messages a second (1 200 a minute) against 19 a minute."""
    sent_at: list[int] = []
    posted = 0
    end = T0 + 180_000
    while relay.clock.now_ms() < end:
        await relay.post_alerts(20, start=posted)
        posted += 20
        tick = relay.clock.now_ms() // 1_000 * 1_000 + 1_000
        while True:
            before = len(relay.fake.received)
            next_at = await relay.worker.step(relay.robot.id)
            sent_at += [relay.clock.now_ms()] * (len(relay.fake.received) - before)
            if next_at is None or next_at >= tick:
                break
            relay.clock.set(max(relay.clock.now_ms(), next_at))
        relay.clock.set(tick)
    await relay.drive()
    assert most_in_any_window(sent_at) <= 19
    listed = "\n".join(
        body["markdown"]["text"] if body["msgtype"] == "markdown" else body["link"]["title"]
        for body in relay.fake.delivered
    )
    missing = [i for i in range(posted) if f"alert {i:04d}" not in listed]
    assert missing == []
    assert all(len(encode(body)) < 20_000 for body in relay.fake.delivered)
    counts = await relay.runtime.outbox.counts(relay.robot.id)
    assert counts["pending"] == counts["failed"] == 0


async def test_a_restarted_worker_keeps_the_pace(relay: Relay) -> None:
    for i in range(19):
        await relay.post_alerts(1, start=i)
        await relay.drive()
        relay.clock.advance(1_000)
    assert len(relay.fake.received) == 19
    await relay.post_alerts(1, start=19)
    fresh = relay.new_worker()
    await fresh.restore_pace(relay.robot.id)
    assert await fresh.step(relay.robot.id) == T0 + 60_000
    assert len(relay.fake.received) == 19


async def test_removing_the_upstream_fails_what_is_queued(relay: Relay) -> None:
    await relay.post_alerts(2)
    await update_robot(relay.runtime, relay.robot.id, clear_upstream=True)
    assert await relay.worker.step(relay.robot.id) is None
    counts = await relay.runtime.outbox.counts(relay.robot.id)
    assert counts == {"pending": 0, "sent": 0, "digested": 0, "failed": 2}
    assert relay.fake.received == []


async def test_the_digest_title_carries_the_upstream_keyword(
    sqlite_settings: Settings, fake: FakeDingTalk
) -> None:
    upstream = Upstream(url=fake.url, secret=UPSTREAM_SECRET, keyword="告警")
    relay = await open_relay(sqlite_settings, fake, upstream=upstream)
    try:
        await relay.post_alerts(30)
        await relay.drive()
        assert relay.fake.delivered[0]["markdown"]["title"] == "告警 30 messages: alert 0000"
    finally:
        await relay.worker.stop()
        await relay.runtime.close()


async def test_held_overflow_messages_are_relayed_too(relay: Relay) -> None:
    await update_robot(
        relay.runtime, relay.robot.id, rate_limit=RateLimit(2, 60, 600), overflow=Overflow.DIGEST
    )
    for i in range(4):
        result = await relay.post_alerts(1, start=i)
        assert result is None
    deliveries = sorted(await relay.runtime.outbox.deliveries(relay.robot.id), key=lambda d: d.id)
    assert [(d.message_id is not None, d.held_id is not None) for d in deliveries] == [
        (True, False),
        (True, False),
        (False, True),
        (False, True),
    ]
    await relay.drive()
    counts = await relay.runtime.outbox.counts(relay.robot.id)
    assert counts == {"pending": 0, "sent": 4, "digested": 0, "failed": 0}
    assert [b["link"]["title"] for b in relay.fake.delivered] == [
        f"alert {i:04d}" for i in range(4)
    ]


async def test_prune_keeps_what_is_pending_and_recent(relay: Relay) -> None:
    relay.fake.answer(KEYWORD)
    await relay.post_alerts(3)
    await relay.drive()
    await relay.post_alerts(1, start=3)  # still queued
    outbox = relay.runtime.outbox
    await outbox.prune(T0 + 1, keep_ms=86_400_000)
    assert await outbox.counts(relay.robot.id) == {
        "pending": 1,
        "sent": 2,
        "digested": 0,
        "failed": 1,
    }
    assert await outbox.pace_history(T0 + 1) != {}
    await outbox.prune(T0 + 2 * 86_400_000, keep_ms=86_400_000)
    assert await outbox.counts(relay.robot.id) == {
        "pending": 1,
        "sent": 0,
        "digested": 0,
        "failed": 0,
    }
    assert await outbox.pace_history(T0 + 2 * 86_400_000) == {}
