"""The relay's pacing plan, driven by a manual clock: the limit holds and bursts fold."""

from __future__ import annotations

import itertools

import pytest

from gong.domain.digest import Action, Plan, plan, reserve_for
from gong.protocol.pacing import PaceState, SendLog

LIMIT, WINDOW = 19, 60_000
T0 = 1_800_000_000_000


def state(log: SendLog, now: int) -> PaceState:
    return log.state(LIMIT, WINDOW, now)


def test_low_volume_goes_out_alone_at_once() -> None:
    log = SendLog()
    assert plan(1, state(log, T0), LIMIT, WINDOW, T0) == Plan(Action.SINGLE, T0)
    assert plan(LIMIT - reserve_for(LIMIT), state(log, T0), LIMIT, WINDOW, T0).action is (
        Action.SINGLE
    )


def test_a_burst_is_folded_at_once_then_spread() -> None:
    log = SendLog()
    assert plan(50, state(log, T0), LIMIT, WINDOW, T0) == Plan(Action.DIGEST, T0)
    log.take(LIMIT, WINDOW, T0)
    # 18 slots left until the first send leaves the window: one every 60 s / 19.
    nxt = plan(900, state(log, T0 + 100), LIMIT, WINDOW, T0 + 100)
    assert nxt == Plan(Action.WAIT, T0 + 3158)
    assert plan(900, state(log, nxt.at), LIMIT, WINDOW, nxt.at).action is Action.DIGEST


def test_no_window_ever_holds_more_than_the_limit() -> None:
    """Simulate 10 minutes of a relentless backlog with polls every 50 ms."""
    log = SendLog()
    sends: list[int] = []
    now = T0
    while now < T0 + 600_000:
        decision = plan(1000, state(log, now), LIMIT, WINDOW, now)
        if decision.action is not Action.WAIT:
            assert log.take(LIMIT, WINDOW, now)
            sends.append(now)
        now += 50
    assert max(sum(1 for u in sends if t <= u < t + WINDOW) for t in sends) == LIMIT
    gaps = [b - a for a, b in itertools.pairwise(sends)]
    assert max(gaps) <= WINDOW // 2  # never a long silence while messages wait


def test_a_pause_waits_it_out() -> None:
    log = SendLog(paused_until=T0 + 600_000)
    assert plan(3, state(log, T0), LIMIT, WINDOW, T0) == Plan(Action.WAIT, T0 + 600_000)


def test_full_window_waits_for_the_oldest_to_leave() -> None:
    log = SendLog(range(T0, T0 + LIMIT))
    assert plan(1, state(log, T0 + 5_000), LIMIT, WINDOW, T0 + 5_000) == Plan(
        Action.WAIT, T0 + WINDOW
    )


def test_after_singles_the_reserve_is_spread_out() -> None:
    log = SendLog()
    now = T0
    for _ in range(LIMIT - reserve_for(LIMIT)):
        assert plan(1, state(log, now), LIMIT, WINDOW, now).action is Action.SINGLE
        log.take(LIMIT, WINDOW, now)
        now += 10
    decision = plan(1, state(log, now), LIMIT, WINDOW, now)
    assert decision.action is Action.WAIT
    # 4 slots to spend until T0 + 60 s: the next one about a fifth of the way.
    assert decision.at == pytest.approx(T0 + 12_000, abs=200)


def test_nothing_pending_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="nothing"):
        plan(0, SendLog().state(LIMIT, WINDOW, T0), LIMIT, WINDOW, T0)


def test_repeats_alone_wait_their_quiet_window_then_go_as_a_digest() -> None:
    log = SendLog()
    due = T0 + 300_000
    assert plan(0, state(log, T0), LIMIT, WINDOW, T0, repeats_due_at=due) == Plan(Action.WAIT, due)
    assert plan(0, state(log, due), LIMIT, WINDOW, due, repeats_due_at=due) == Plan(
        Action.DIGEST, due
    )
    # Not even due repeats skip the pace.
    full = SendLog(range(due - LIMIT, due))
    assert plan(0, state(full, due), LIMIT, WINDOW, due, repeats_due_at=due).action is Action.WAIT


def test_due_repeats_turn_the_next_single_into_a_digest() -> None:
    log = SendLog()
    assert plan(1, state(log, T0), LIMIT, WINDOW, T0, repeats_due_at=T0 + 1).action is (
        Action.SINGLE
    )
    assert plan(1, state(log, T0), LIMIT, WINDOW, T0, repeats_due_at=T0).action is Action.DIGEST
    assert plan(1, state(log, T0), 0, WINDOW, T0, repeats_due_at=T0).action is Action.DIGEST


def test_nothing_queued_is_nothing_to_plan() -> None:
    with pytest.raises(ValueError, match="nothing"):
        plan(0, state(SendLog(), T0), LIMIT, WINDOW, T0)
