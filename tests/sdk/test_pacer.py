"""The client-side pacer: wait, raise, or fold into digests; time is a manual clock."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from gong.clock import ManualClock
from gong.sdk import AsyncRobot, KeywordError, Pacer, PacerFullError, Robot, SendResult

WEBHOOK = "https://oapi.dingtalk.com/robot/send?access_token=abc123"
OK = b'{"errcode":0,"errmsg":"ok"}'


class Upstream:
    """Records what arrives, and when on the manual clock."""

    def __init__(self, clock: ManualClock, answer: bytes = OK) -> None:
        self.clock = clock
        self.answer = answer
        self.received: list[tuple[int, dict[str, object]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append((self.clock.now_ms(), json.loads(request.content)))
        return httpx.Response(200, content=self.answer)

    def most_in_any_window(self, window_ms: int = 60_000) -> int:
        times = [t for t, _ in self.received]
        return max((sum(1 for u in times if t <= u < t + window_ms) for t in times), default=0)


def make(clock: ManualClock, upstream: Upstream, pacer: Pacer) -> Robot:
    def sleep(seconds: float) -> None:
        clock.advance(int(seconds * 1000))

    return Robot(
        WEBHOOK,
        transport=httpx.MockTransport(upstream),
        pacer=pacer,
        clock=clock,
        sleep=sleep,
        auto_uuid=False,
    )


def test_wait_mode_never_exceeds_the_limit() -> None:
    clock = ManualClock(1_700_000_000_000)
    upstream = Upstream(clock)
    robot = make(clock, upstream, Pacer(20, 60))
    for i in range(45):
        assert robot.send_text(f"m{i}").ok
    assert len(upstream.received) == 45
    assert upstream.most_in_any_window() == 20
    # The 21st waited for the first to leave the window: 60 s later.
    assert upstream.received[20][0] - upstream.received[0][0] == 60_000


def test_raise_mode_says_when_to_retry() -> None:
    clock = ManualClock(1_700_000_000_000)
    upstream = Upstream(clock)
    robot = make(clock, upstream, Pacer(3, 10, mode="raise"))
    for _ in range(3):
        robot.send_text("x")
        clock.advance(1_000)
    with pytest.raises(PacerFullError) as caught:
        robot.send_text("x")
    assert caught.value.retry_after == pytest.approx(7.0)
    assert caught.value.errcode is None
    clock.advance(7_000)
    assert robot.send_text("x").ok


def test_one_pacer_counts_per_webhook() -> None:
    clock = ManualClock(1_700_000_000_000)
    upstream = Upstream(clock)
    pacer = Pacer(1, 60, mode="raise")
    a = make(clock, upstream, pacer)
    b = Robot(
        WEBHOOK.replace("abc123", "other"),
        transport=httpx.MockTransport(upstream),
        pacer=pacer,
        clock=clock,
    )
    a.send_text("a")
    b.send_text("b")
    with pytest.raises(PacerFullError):
        a.send_text("a again")


def test_digest_mode_folds_the_excess_and_sends_it_when_a_slot_frees() -> None:
    clock = ManualClock(1_700_000_000_000)
    upstream = Upstream(clock)
    robot = make(clock, upstream, Pacer(20, 60, mode="digest"))
    results = [
        robot.send_link(f"alert {i}", "x", f"https://alerts.example.com/{i}") for i in range(20)
    ]
    assert all(r.ok and not r.queued for r in results)
    queued = [robot.send_text(f"late {i}", at_mobiles=[f"1380000000{i}"]) for i in range(5)]
    assert queued == [SendResult(0, "queued", None, "", queued=True, covers=0)] * 5
    assert len(upstream.received) == 20
    assert robot.flush() == []  # no slot yet
    clock.advance(60_000)
    sent = robot.flush()
    assert [r.covers for r in sent] == [5]
    digest = upstream.received[-1][1]
    assert digest["msgtype"] == "markdown"
    text = digest["markdown"]["text"]  # type: ignore[index]
    for i in range(5):
        assert f"late {i}" in text
        assert f"@1380000000{i}" in text
    assert digest["at"]["atMobiles"] == [f"1380000000{i}" for i in range(5)]  # type: ignore[index]
    assert upstream.most_in_any_window() == 20


def test_digest_mode_sends_a_single_held_message_as_itself() -> None:
    clock = ManualClock(1_700_000_000_000)
    upstream = Upstream(clock)
    robot = make(clock, upstream, Pacer(1, 60, mode="digest"))
    robot.send_text("first")
    assert robot.send_text("second").queued
    clock.advance(60_000)
    robot.send_text("third")  # flushes "second" first, then holds "third"
    assert [body for _, body in upstream.received] == [
        {"msgtype": "text", "text": {"content": "first"}},
        {"msgtype": "text", "text": {"content": "second"}},
    ]
    robot.close()  # waits for the next slot and sends "third"
    assert upstream.received[-1] == (
        clock.now_ms(),
        {"msgtype": "text", "text": {"content": "third"}},
    )


def test_digest_mode_hands_back_messages_a_permanent_error_refused() -> None:
    clock = ManualClock(1_700_000_000_000)
    upstream = Upstream(clock)
    robot = make(clock, upstream, Pacer(1, 60, mode="digest"))
    robot.send_text("first")
    robot.send_text("second")
    robot.send_text("third")
    upstream.answer = b'{"errcode":310000,"errmsg":"keywords not in content"}'
    clock.advance(60_000)
    with pytest.raises(KeywordError) as caught:
        robot.flush()
    assert [m.title() for m in caught.value.unsent] == ["second", "third"]
    assert robot.pacer is not None
    assert robot.pacer.held(robot.webhook) == 0


async def test_async_robot_flushes_held_messages_by_itself() -> None:
    clock = ManualClock(1_700_000_000_000)
    upstream = Upstream(clock)
    slept = asyncio.Event()

    async def sleep(seconds: float) -> None:
        clock.advance(int(seconds * 1000))
        slept.set()
        await asyncio.sleep(0)

    robot = AsyncRobot(
        WEBHOOK,
        transport=httpx.MockTransport(upstream),
        pacer=Pacer(2, 60, mode="digest"),
        clock=clock,
        sleep=sleep,
        auto_uuid=False,
    )
    for i in range(5):
        await robot.send_text(f"m{i}")
    assert len(upstream.received) == 2
    for _ in range(50):
        if len(upstream.received) == 3:
            break
        await asyncio.sleep(0)
    assert len(upstream.received) == 3
    assert upstream.received[2][1]["markdown"]["title"] == "3 messages: m2"  # type: ignore[index]
    await robot.aclose()
