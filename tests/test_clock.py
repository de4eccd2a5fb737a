"""The clocks: a manual clock's sleeps end only when the clock is moved past their deadline."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from gong.clock import Clock, ManualClock, SystemClock


async def settle() -> None:
    """Let every task that can run, run (no real time passes)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_sleep_ends_when_the_clock_reaches_its_deadline() -> None:
    clock = ManualClock(1_000)
    sleep = asyncio.create_task(clock.sleep(1.5))
    await settle()
    assert clock.sleepers == 1
    clock.advance(1_499)
    await settle()
    assert not sleep.done()
    clock.advance(1)
    await settle()
    assert sleep.done()
    assert clock.sleepers == 0
    assert clock.now_ms() == 2_500


async def test_set_wakes_the_sleeps_it_passes_and_only_those() -> None:
    clock = ManualClock(0)
    short = asyncio.create_task(clock.sleep(1))
    long = asyncio.create_task(clock.sleep(10))
    await settle()
    clock.set(5_000)
    await settle()
    assert short.done()
    assert not long.done()
    clock.set(0)  # back in time: the deadline stays where it was
    await settle()
    assert not long.done()
    clock.set(10_000)
    await settle()
    assert long.done()


async def test_one_long_advance_wakes_every_sleep_due() -> None:
    clock = ManualClock(0)
    sleeps = [asyncio.create_task(clock.sleep(s)) for s in (0.001, 1, 60)]
    await settle()
    clock.advance(3_600_000)
    await settle()
    assert all(s.done() for s in sleeps)


async def test_a_sleep_of_nothing_returns_at_once() -> None:
    clock = ManualClock(0)
    await asyncio.wait_for(clock.sleep(0), 1)
    await asyncio.wait_for(clock.sleep(-1), 1)
    assert clock.sleepers == 0


async def test_a_cancelled_sleep_is_forgotten() -> None:
    clock = ManualClock(0)
    sleep = asyncio.create_task(clock.sleep(1))
    await settle()
    sleep.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleep
    assert clock.sleepers == 0
    clock.advance(1_000)  # nothing left to wake, and no error


async def test_sleeping_waits_until_a_task_sleeps_again() -> None:
    clock = ManualClock(0)
    rounds: list[int] = []

    async def loop() -> None:
        while True:
            await clock.sleep(1)
            await asyncio.sleep(0)  # some work between two sleeps
            await asyncio.sleep(0)
            rounds.append(clock.now_ms())

    task = asyncio.create_task(loop())
    try:
        await asyncio.wait_for(clock.sleeping(), 1)
        assert rounds == []
        for _ in range(3):
            clock.advance(1_000)
            assert clock.sleepers == 0  # woken, not yet asleep again
            await asyncio.wait_for(clock.sleeping(), 1)
        assert rounds == [1_000, 2_000, 3_000]
    finally:
        task.cancel()


async def test_advance_from_another_thread_wakes_the_sleep() -> None:
    clock = ManualClock(0)
    sleep = asyncio.create_task(clock.sleep(1))
    await clock.sleeping()
    thread = threading.Thread(target=clock.advance, args=(1_000,))
    thread.start()
    thread.join()
    await asyncio.wait_for(sleep, 1)


async def test_the_system_clock_sleeps_in_real_time() -> None:
    clock: Clock = SystemClock()
    before = time.monotonic()
    await clock.sleep(0.02)
    assert time.monotonic() - before >= 0.015
    assert abs(clock.now_ms() - time.time() * 1000) < 1_000


def test_the_manual_clock_moves_only_when_told() -> None:
    clock: Clock = ManualClock(5)
    assert clock.now_ms() == 5
    assert isinstance(clock, ManualClock)
    clock.advance(10)
    assert clock.now_ms() == 15
    clock.set(3)
    assert clock.now_ms() == 3
