"""A relay under test: a runtime without its background worker, a worker stepped by hand on a
manual clock, and a fake DingTalk upstream on a real socket (127.0.0.1: private addresses are
allowed unless a test says otherwise)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.models import RateLimit, Robot, Upstream
from gong.domain.ports import StoreResult
from gong.outgoing.guard import Guard
from gong.protocol.messages import parse_message
from gong.relay.pacer import MemoryPacer
from gong.relay.targets import upstream_guard
from gong.relay.worker import RelayWorker
from gong.runtime import Runtime
from tests.fakes import FakeDingTalk
from tests.helpers import create_robot

UPSTREAM_SECRET = "SEC" + "ab" * 32


@pytest.fixture
def fake() -> Iterator[FakeDingTalk]:
    server = FakeDingTalk(secret=UPSTREAM_SECRET).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Relay:
    runtime: Runtime
    worker: RelayWorker
    clock: ManualClock
    robot: Robot
    fake: FakeDingTalk

    async def post(self, body: dict[str, Any]) -> StoreResult:
        """Accept a message for the relayed robot, as ``/robot/send`` would."""
        view = await self.runtime.directory.get(self.robot.access_token)
        assert view is not None
        return await self.runtime.hub.accept_from_robot(view, parse_message(body), "{}")

    async def post_alerts(self, n: int, start: int = 0) -> None:
        """Post ``n`` link messages at once (they share one commit), in order."""
        view = await self.runtime.directory.get(self.robot.access_token)  # cached from here on
        assert view is not None
        await asyncio.gather(
            *(
                self.post(
                    {
                        "msgtype": "link",
                        "link": {
                            "title": f"alert {i:04d}",
                            "text": "CPU high",
                            "messageUrl": f"https://alerts.example.com/{i}",
                        },
                    }
                )
                for i in range(start, start + n)
            )
        )

    async def drive(self, *, until: int | None = None, max_steps: int = 5_000) -> None:
        """Step the lane as its task would, moving the clock instead of sleeping."""
        for _ in range(max_steps):
            next_at = await self.worker.step(self.robot.id)
            if next_at is None:
                return
            if next_at > self.clock.now_ms():
                if until is not None and next_at > until:
                    return
                self.clock.set(next_at)
        raise AssertionError("the lane did not settle")

    def new_worker(self, **kwargs: Any) -> RelayWorker:
        """A worker as a restarted process would have: its own, empty pacer."""
        return RelayWorker(
            guard=self.worker.guard,
            outbox=self.runtime.outbox,
            robots=self.runtime.robot_store,
            pacer=MemoryPacer(),
            clock=self.clock,
            message_url=self.worker.message_url,
            timezone=self.worker.timezone,
            **kwargs,
        )


async def open_relay(
    settings: Settings,
    fake: FakeDingTalk,
    upstream: Upstream | None = None,
    *,
    allow_private: bool = True,
    guard: Guard | None = None,
    **worker: Any,
) -> Relay:
    """The robot is stored without the save-time address check, so a test can give it an
    upstream the worker's guard then refuses."""
    clock = ManualClock(1_800_000_000_000)
    settings = settings.model_copy(
        update={"relay_enabled": False, "outgoing_allow_private": allow_private}
    )
    runtime = await Runtime.open(settings, clock=clock)
    group = await runtime.groups.create("ops")
    await runtime.groups.add_member(group.id, name="张三", mobile="13800000001")
    robot = await create_robot(
        runtime,
        group.id,
        name="alerts",
        keywords=["alert"],
        rate_limit=RateLimit(0, 60, 600),
        upstream=upstream or Upstream(url=fake.url, secret=UPSTREAM_SECRET),
        check_addresses=False,
    )
    # As the runtime wires it: links to messages (with a public URL), the default time zone.
    worker.setdefault("message_url", settings.message_url)
    worker.setdefault("timezone", settings.timezone)
    made = RelayWorker(
        guard=guard or upstream_guard(settings),
        outbox=runtime.outbox,
        robots=runtime.robot_store,
        pacer=MemoryPacer(),
        clock=clock,
        **worker,
    )
    return Relay(runtime, made, clock, robot, fake)


@pytest.fixture
async def relay(sqlite_settings: Settings, fake: FakeDingTalk) -> AsyncIterator[Relay]:
    made = await open_relay(sqlite_settings, fake)
    try:
        yield made
    finally:
        await made.worker.stop()
        await made.runtime.close()
