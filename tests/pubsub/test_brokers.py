"""Live fan-out, against each backend: in-process memory and Redis pub/sub."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from gong.domain.ports import Broker
from gong.pubsub.memory import MemoryBroker

Make = Callable[[], Any]


@pytest.fixture(params=["memory", "redis"])
async def new_broker(request: pytest.FixtureRequest) -> AsyncIterator[Make]:
    """A factory of brokers sharing one backend (two Redis brokers stand for two processes)."""
    brokers: list[Any] = []
    if request.param == "memory":
        shared = MemoryBroker(max_queue=50)

        async def make_memory() -> Broker:
            return shared

        yield make_memory
        await shared.close()
        return
    from gong.pubsub.redis import RedisBroker
    from gong.runtime import redis_client

    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")

    async def make_redis() -> Broker:
        broker = RedisBroker(redis_client(url, pubsub=True), prefix, max_queue=50)
        await broker.start()
        brokers.append(broker)
        return broker

    yield make_redis
    for broker in brokers:
        await broker.close()
        await broker._redis.aclose()


async def collect(subscription: Any, n: int, timeout: float = 3.0) -> list[bytes]:
    got: list[bytes] = []

    async def read() -> None:
        async for event in subscription:
            got.append(event)
            if len(got) == n:
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(read(), timeout)
    return got


async def test_every_subscriber_gets_every_event_in_order(new_broker: Make) -> None:
    a, b = await new_broker(), await new_broker()
    sub1 = await a.subscribe("group:1")
    sub2 = await b.subscribe("group:1", "group:2")
    other = await b.subscribe("group:3")
    for i in range(20):
        await (a if i % 2 else b).publish("group:1", b"e%d" % i)
    await a.publish("group:2", b"two")
    expected = [b"e%d" % i for i in range(20)]
    got1 = await collect(sub1, 20)
    got2 = await collect(sub2, 21)
    # Every event arrives once; each publisher's events keep their order (two publishers are two
    # processes: between them there is no order to keep).
    assert sorted(got1) == sorted(expected)
    assert sorted(got2) == sorted([*expected, b"two"])
    for got in (got1, got2):
        for parity in (0, 1):
            mine = [e for e in got if e != b"two" and int(e[1:]) % 2 == parity]
            assert mine == [b"e%d" % i for i in range(parity, 20, 2)]
    assert await collect(other, 1, timeout=0.3) == []


async def test_close_ends_the_stream(new_broker: Make) -> None:
    broker = await new_broker()
    sub = await broker.subscribe("c")
    await sub.close()
    assert await collect(sub, 1, timeout=1) == []


async def test_a_reader_that_falls_behind_is_dropped_not_waited_for(new_broker: Make) -> None:
    broker = await new_broker()
    slow = await broker.subscribe("c")
    fast = await broker.subscribe("c")
    reader = asyncio.create_task(collect(fast, 120))
    for i in range(120):
        await broker.publish("c", b"%d" % i)
        await asyncio.sleep(0)
    assert len(await reader) == 120
    # The slow reader's queue (50) overflowed: its stream ends instead of growing without bound.
    events = await collect(slow, 200, timeout=1)
    assert len(events) <= 50


async def test_redis_outage_ends_streams_so_clients_resume(
    redis_url: str, redis_prefix: str
) -> None:
    from redis.asyncio import Redis

    from gong.pubsub.redis import RedisBroker
    from gong.runtime import redis_client

    client = redis_client(redis_url, pubsub=True)
    client.connection_pool.connection_kwargs["client_name"] = f"{redis_prefix}-sub"
    broker = RedisBroker(client, redis_prefix)
    await broker.start()
    admin = Redis.from_url(redis_url)
    try:
        sub = await broker.subscribe("c")
        await broker.publish("c", b"before")
        assert await collect(sub, 1) == [b"before"]
        # Kill exactly this broker's connection, as a Redis restart would.
        for entry in await admin.client_list():
            if entry.get("name") == f"{redis_prefix}-sub":
                await admin.client_kill_filter(_id=entry["id"])
        assert await collect(sub, 5, timeout=3) == []  # the stream ended
        for _ in range(100):  # the bridge reconnects by itself
            if broker.connected:
                break
            await asyncio.sleep(0.05)
        assert broker.connected
        again = await broker.subscribe("c")
        await asyncio.sleep(0.1)
        await broker.publish("c", b"after")
        assert await collect(again, 1) == [b"after"]
    finally:
        await broker.close()
        await client.aclose()
        await admin.aclose()
