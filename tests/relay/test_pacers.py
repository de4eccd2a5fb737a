"""The relay's pacer, against each backend: in-process memory and Redis (shared by processes)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from gong.domain.ports import Pacer
from gong.relay.pacer import MemoryPacer

Make = Callable[[], Pacer]


@pytest.fixture(params=["memory", "redis"])
async def new_pacer(request: pytest.FixtureRequest) -> AsyncIterator[Make]:
    if request.param == "memory":
        shared = MemoryPacer()
        yield lambda: shared
        return
    from gong.relay.redis import RedisPacer
    from gong.runtime import redis_client

    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    clients = []

    def make() -> Pacer:
        client = redis_client(url)
        clients.append(client)
        return RedisPacer(client, prefix)

    yield make
    if clients:
        keys = [k async for k in clients[0].scan_iter(f"{prefix}:*")]
        if keys:
            await clients[0].delete(*keys)
    for client in clients:
        await client.aclose()


async def test_take_counts_up_to_the_limit_in_a_sliding_window(new_pacer: Make) -> None:
    pacer = new_pacer()
    for i in range(19):
        assert await pacer.take("u", 19, 60_000, 1_000 + i)
    assert not await pacer.take("u", 19, 60_000, 2_000)
    state = await pacer.state("u", 19, 60_000, 2_000)
    assert state.free == 0
    assert state.next_free_at == 61_000  # when the first send leaves the window
    assert state.last_at == 1_018
    assert await pacer.take("u", 19, 60_000, 61_000)


async def test_processes_share_one_pace(new_pacer: Make) -> None:
    """Three pacers (with Redis: three processes) never take more than the limit together."""
    pacers = [new_pacer() for _ in range(3)]
    taken = [await pacers[i % 3].take("shared", 19, 60_000, 5_000 + i) for i in range(40)]
    assert taken.count(True) == 19
    assert taken[:19] == [True] * 19


async def test_a_pause_holds_every_send_until_it_ends(new_pacer: Make) -> None:
    pacer = new_pacer()
    await pacer.pause("u", 600_000)
    await pacer.pause("u", 300_000)  # an earlier end never shortens a pause
    assert not await pacer.take("u", 19, 60_000, 599_999)
    state = await pacer.state("u", 19, 60_000, 10)
    assert state.free == 0
    assert state.paused_until == 600_000
    assert await pacer.take("u", 19, 60_000, 600_000)


async def test_restore_counts_earlier_sends(new_pacer: Make) -> None:
    pacer = new_pacer()
    await pacer.restore("u", [1_000, 2_000, 3_000], 0)
    await pacer.restore("u", [1_000, 2_000, 3_000], 0)  # idempotent
    assert (await pacer.state("u", 5, 60_000, 4_000)).free == 2


async def test_unlimited_only_remembers_the_last_send(new_pacer: Make) -> None:
    pacer = new_pacer()
    for i in range(100):
        assert await pacer.take("u", 0, 60_000, i)
    state = await pacer.state("u", 0, 60_000, 200)
    assert state.last_at == 99
    assert state.free > 0
