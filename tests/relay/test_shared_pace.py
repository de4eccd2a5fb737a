"""Two Gong processes relaying to one DingTalk webhook keep one pace between them (Redis)."""

from __future__ import annotations

from gong.config import Settings
from gong.domain.models import RateLimit, Upstream
from gong.protocol.messages import parse_message
from gong.relay.redis import RedisPacer
from gong.relay.worker import RelayWorker
from gong.runtime import redis_client
from tests.fakes import FakeDingTalk
from tests.helpers import create_robot
from tests.relay.conftest import UPSTREAM_SECRET, open_relay
from tests.relay.test_worker import most_in_any_window


async def test_two_workers_sharing_an_upstream_never_exceed_its_limit(
    sqlite_settings: Settings, fake: FakeDingTalk, redis_url: str, redis_prefix: str
) -> None:
    relay = await open_relay(sqlite_settings, fake)
    clients = [redis_client(redis_url), redis_client(redis_url)]
    workers: list[RelayWorker] = []
    try:
        # A second robot with the same upstream, relayed by a second worker with its own Redis
        # connection: as if it ran in another process.
        other = await create_robot(
            relay.runtime,
            relay.robot.group_id,
            name="alerts-2",
            keywords=["alert"],
            rate_limit=RateLimit(0, 60, 600),
            upstream=Upstream(url=fake.url, secret=UPSTREAM_SECRET),
        )
        workers += [
            RelayWorker(
                guard=relay.worker.guard,
                outbox=relay.runtime.outbox,
                robots=relay.runtime.robot_store,
                pacer=RedisPacer(client, redis_prefix),
                clock=relay.clock,
            )
            for client in clients
        ]
        robots = [relay.robot, other]
        sent_at: list[int] = []
        end = relay.clock.now_ms() + 150_000
        n = 0
        while relay.clock.now_ms() < end:
            for robot in robots:  # each robot gets 5 alerts a second
                view = await relay.runtime.directory.get(robot.access_token)
                assert view is not None
                for _ in range(5):
                    await relay.runtime.hub.accept_from_robot(
                        view,
                        parse_message(
                            {
                                "msgtype": "link",
                                "link": {
                                    "title": f"alert {n:04d}",
                                    "text": "x",
                                    "messageUrl": f"https://a.example/{n}",
                                },
                            }
                        ),
                        "{}",
                    )
                    n += 1
            for worker, robot in zip(workers, robots, strict=True):
                for _ in range(50):
                    before = len(fake.received)
                    next_at = await worker.step(robot.id)
                    sent_at += [relay.clock.now_ms()] * (len(fake.received) - before)
                    if next_at is None or next_at > relay.clock.now_ms():
                        break
            relay.clock.advance(1_000)
        assert len(fake.received) > 19, "the two workers should have sent over several windows"
        assert most_in_any_window(sent_at) <= 19
    finally:
        for worker in workers:
            await worker.stop()
        for client in clients:
            keys = [k async for k in client.scan_iter(f"{redis_prefix}:*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()
        await relay.worker.stop()
        await relay.runtime.close()
