"""The poller: one tick per interval of the injected clock, survives failures, stops cleanly."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gong.clock import ManualClock
from gong.storage.poller import Poller


async def asleep(clock: ManualClock) -> None:
    """Wait (a second at most) until the poller has done its work and sleeps again."""
    await asyncio.wait_for(clock.sleeping(), 1)


class Ticks:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.at: list[int] = []
        self.fail = False

    async def __call__(self) -> None:
        await asyncio.sleep(0)  # a tick awaits something, as a query would
        self.at.append(self.clock.now_ms())
        if self.fail:
            raise RuntimeError("database is away")


async def test_it_ticks_once_per_interval_of_the_clock() -> None:
    clock = ManualClock(0)
    ticks = Ticks(clock)
    poller = Poller(ticks, 0.5, clock, name="test-poller")
    poller.start()
    try:
        await asleep(clock)
        assert ticks.at == []  # the first tick is one interval after the start
        clock.advance(499)
        await asleep(clock)
        assert ticks.at == []
        clock.advance(1)
        await asleep(clock)
        assert ticks.at == [500]
        clock.advance(500)
        await asleep(clock)
        assert ticks.at == [500, 1_000]
        clock.advance(60_000)  # a long pause is one tick, not a burst of the missed ones
        await asleep(clock)
        assert ticks.at == [500, 1_000, 61_000]
    finally:
        await poller.stop()


async def test_a_failing_tick_is_logged_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock(0)
    ticks = Ticks(clock)
    owner = logging.getLogger("tests.poller.owner")
    poller = Poller(ticks, 1, clock, name="test-poller", failure="could not poll", logger=owner)
    poller.start()
    try:
        await asleep(clock)
        ticks.fail = True
        with caplog.at_level(logging.WARNING, logger=owner.name):
            for _ in range(2):
                clock.advance(1_000)
                await asleep(clock)
        assert [(r.name, r.getMessage()) for r in caplog.records] == [
            ("tests.poller.owner", "could not poll: database is away")
        ] * 2
        assert poller.running
        ticks.fail = False
        clock.advance(1_000)
        await asleep(clock)
        assert ticks.at == [1_000, 2_000, 3_000]
    finally:
        await poller.stop()


async def test_stop_ends_the_loop_while_it_waits() -> None:
    clock = ManualClock(0)
    ticks = Ticks(clock)
    poller = Poller(ticks, 1, clock, name="test-poller")
    poller.start()
    await asleep(clock)
    assert poller.running
    await poller.stop()
    assert not poller.running
    assert clock.sleepers == 0  # its sleep was cancelled, not left behind
    clock.advance(10_000)
    await asyncio.sleep(0)
    assert ticks.at == []
    await poller.stop()  # stopping twice is harmless


async def test_stop_cancels_a_tick_in_progress() -> None:
    clock = ManualClock(0)
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def stuck() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    poller = Poller(stuck, 1, clock, name="test-poller")
    poller.start()
    await asleep(clock)
    clock.advance(1_000)
    await asyncio.wait_for(started.wait(), 1)
    await asyncio.wait_for(poller.stop(), 1)
    assert cancelled.is_set()
    assert not poller.running


async def test_start_twice_runs_one_loop() -> None:
    clock = ManualClock(0)
    ticks = Ticks(clock)
    poller = Poller(ticks, 1, clock, name="test-poller")
    poller.start()
    poller.start()
    try:
        await asleep(clock)
        await asyncio.sleep(0)
        assert clock.sleepers == 1
        clock.advance(1_000)
        await asleep(clock)
        assert ticks.at == [1_000]
    finally:
        await poller.stop()


async def test_cancelling_the_caller_of_stop_is_not_swallowed() -> None:
    clock = ManualClock(0)
    in_tick = asyncio.Event()
    release = asyncio.Event()

    async def slow_to_cancel() -> None:
        in_tick.set()
        try:
            await asyncio.Event().wait()
        finally:
            await release.wait()  # cleanup that takes a while

    poller = Poller(slow_to_cancel, 1, clock, name="test-poller")
    poller.start()
    await asleep(clock)
    clock.advance(1_000)
    await in_tick.wait()
    stopping = asyncio.create_task(poller.stop())
    await asyncio.sleep(0)
    stopping.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    assert stopping.cancelled()
