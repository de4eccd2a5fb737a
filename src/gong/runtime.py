"""The running parts of a Gong process, wired together from one :class:`Settings` object.

The web app and the CLI both build a :class:`Runtime`; nothing is a module-level singleton.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gong.administration import administration
from gong.clock import Clock, SystemClock
from gong.config import Settings
from gong.domain.admin_tokens import AdminTokens
from gong.domain.errors import NotFound
from gong.domain.groups import Groups
from gong.domain.history import Archive
from gong.domain.models import RobotView
from gong.domain.ports import Broker, Limiter, Pacer
from gong.domain.posting import Posting
from gong.domain.robot_admin import Robots
from gong.domain.search import Search
from gong.domain.service import Hub
from gong.integrations.render_pool import RenderPool
from gong.metrics import Metrics
from gong.outgoing.callbacks import Callbacks
from gong.protocol.errors import rate_limited
from gong.pubsub.memory import MemoryBroker
from gong.ratelimit.memory import MemoryLimiter
from gong.redact import redact
from gong.relay.pacer import MemoryPacer
from gong.relay.targets import upstream_guard
from gong.relay.worker import RelayWorker
from gong.storage.accounts import Accounts
from gong.storage.database import create_writer_engine, open_database
from gong.storage.directory import Directory
from gong.storage.history import SqlHistory
from gong.storage.inbox import Inbox
from gong.storage.messages import write_handlers
from gong.storage.outbox import Outbox
from gong.storage.outgoing import OutgoingStore
from gong.storage.robots import SqlRobots
from gong.storage.store import WriterStore
from gong.storage.writer import Writer

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["Runtime", "redis_client"]

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 60.0
#: Retention batches (of gong.domain.history.PRUNE_BATCH messages) per pruning run.
PRUNE_BATCHES = 200


def redis_client(url: str, *, pubsub: bool = False) -> Redis:
    """A Redis client with short timeouts, retrying once a connection the server closed
    (restart, failover) on a fresh one."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return Redis.from_url(
        url,
        socket_connect_timeout=2,
        # A pub/sub connection waits for messages indefinitely and pings to notice a dead peer.
        socket_timeout=None if pubsub else 2,
        health_check_interval=10 if pubsub else 0,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.01), 3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )


CHECKPOINT_EVERY_S = 1.0
OVERFLOW_EVERY_S = 0.5


@dataclass(slots=True)
class Runtime:
    settings: Settings
    clock: Clock
    engine: AsyncEngine
    #: Robots as stored (the send path reads them through ``directory``).
    robot_store: SqlRobots
    #: Administration: every change to groups, members, robots and admin tokens goes here.
    groups: Groups
    robots: Robots
    tokens: AdminTokens
    history: SqlHistory
    #: Recall, retention and export of messages; search over them.
    archive: Archive
    search: Search
    inbox: Inbox
    #: People's posts (the composer, the messages API, ``gong post``).
    posting: Posting
    writer: Writer
    directory: Directory
    limiter: Limiter
    broker: Broker
    hub: Hub
    outbox: Outbox
    pacer: Pacer
    relay: RelayWorker
    outgoing: OutgoingStore
    callbacks: Callbacks
    metrics: Metrics
    #: Worker processes for templates (started on the first render).
    renders: RenderPool
    redis: Redis | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        limiter: Limiter | None = None,
        broker: Broker | None = None,
        pacer: Pacer | None = None,
    ) -> Runtime:
        """Open the database (migrating it); start the writer, the directory poller, the relay
        worker (unless ``relay_enabled`` is off) and the overflow summaries."""
        clock = clock or SystemClock()
        redis = None
        if settings.redis_url and (limiter is None or broker is None or pacer is None):
            from gong.pubsub.redis import RedisBroker
            from gong.ratelimit.redis import RedisLimiter
            from gong.relay.redis import RedisPacer

            redis = redis_client(settings.redis_url)
            limiter = limiter or RedisLimiter(redis, settings.redis_prefix)
            pacer = pacer or RedisPacer(redis, settings.redis_prefix)
            if broker is None:
                redis_broker = RedisBroker(
                    redis_client(settings.redis_url, pubsub=True), settings.redis_prefix
                )
                await redis_broker.start()
                broker = redis_broker
        engine = await open_database(settings)
        robot_store = SqlRobots(engine)
        metrics = Metrics()
        writer = Writer(
            engine,
            write_handlers(),
            sync_engine=create_writer_engine(settings),
            observe=metrics.batch,
        )
        outbox = Outbox(engine, writer)
        limiter = limiter or MemoryLimiter()
        broker = broker or MemoryBroker()
        pacer = pacer or MemoryPacer()
        relay = RelayWorker(
            guard=upstream_guard(settings),
            outbox=outbox,
            robots=robot_store,
            pacer=pacer,
            clock=clock,
            poll_seconds=settings.relay_poll_seconds,
            timeout_seconds=settings.relay_timeout_seconds,
            max_attempts=settings.relay_max_attempts,
            backoff_max_seconds=settings.relay_backoff_max_seconds,
            on_outcome=metrics.relay_outcome,
            message_url=settings.message_url,
            timezone=settings.timezone,
        )
        store = WriterStore(writer, outbox, on_relay=relay.notify)
        hub = Hub(
            store=store,
            limiter=limiter,
            broker=broker,
            clock=clock,
            dialect=settings.errmsg_dialect,
            rate_limited=rate_limited(settings.rate_limit_answer),
            dedup_ms=settings.dedup_hours * 3_600_000,
            on_counted=metrics.stored,
            timezone=settings.timezone,
            message_url=settings.message_url,
        )
        directory = Directory(robot_store, settings.config_refresh_seconds, clock=clock)

        async def secret_owner(secret: str) -> RobotView | None:
            robot = await robot_store.robot_by_secret(secret)
            return await directory.get(robot.access_token) if robot else None

        hub.secret_owner = secret_owner

        async def changed(robot_id: int | None) -> None:
            # The send path sees a change when this returns; the relay looks at once (a robot
            # may have gained an upstream).
            await directory.changed()
            if robot_id is not None:
                relay.notify()

        admin = administration(
            engine,
            settings,
            clock,
            on_change=changed,
            limiter=limiter,
            on_recalled=hub.announce_recall,
            holder=uuid.uuid4().hex,
        )
        outgoing = OutgoingStore(engine)
        accounts = Accounts(engine, clock)
        callbacks = Callbacks(
            settings=settings,
            clock=clock,
            hub=hub,
            directory=directory,
            store=outgoing,
            key=lambda: accounts.secret("outgoing_ids"),
        )
        inbox = Inbox(engine)
        runtime = cls(
            settings=settings,
            clock=clock,
            engine=engine,
            robot_store=robot_store,
            groups=admin.groups,
            robots=admin.robots,
            tokens=admin.tokens,
            history=admin.history,
            archive=admin.archive,
            search=admin.search,
            inbox=inbox,
            posting=Posting(
                hub=hub,
                groups=admin.groups.store,
                robots=robot_store,
                read_marks=inbox,
                callbacks=callbacks,
                clock=clock,
            ),
            writer=writer,
            directory=directory,
            limiter=limiter,
            broker=broker,
            hub=hub,
            outbox=outbox,
            pacer=pacer,
            relay=relay,
            outgoing=outgoing,
            callbacks=callbacks,
            metrics=metrics,
            renders=RenderPool(
                workers=settings.template_workers, memory_mb=settings.template_memory_mb
            ),
            redis=redis,
        )
        metrics.on_scrape(runtime._scrape_gauges)
        await writer.start()
        await runtime.directory.start()
        if settings.relay_enabled:
            # One worker on SQLite is the only relay there is: leases left by a crash are stale.
            sole = engine.dialect.name == "sqlite" and settings.workers == 1
            await relay.start(sole_process=sole)
        runtime._tasks.append(asyncio.create_task(runtime._prune(), name="gong-prune"))
        runtime._tasks.append(asyncio.create_task(runtime._overflow(), name="gong-overflow"))
        if engine.dialect.name == "sqlite":
            runtime._tasks.append(
                asyncio.create_task(runtime._checkpoint(), name="gong-checkpoint")
            )
        return runtime

    async def _scrape_gauges(self) -> None:
        """Gauges read from the database when /metrics is scraped."""
        kinds = await self.robot_store.robot_kinds()
        self.metrics.set_gauge(
            "gong_robots", "Robots by kind", {(k,): float(n) for k, n in kinds.items()}, ("kind",)
        )
        states = await self.outbox.totals()
        self.metrics.set_gauge(
            "gong_relay_deliveries",
            "Relay delivery records by state (pending is the backlog)",
            {(state,): float(n) for state, n in states.items()},
            ("state",),
        )

    async def readiness(self) -> dict[str, str]:
        """``ok`` or the error, for the database and (if configured) Redis; each within 2 s."""

        async def database() -> None:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))

        async def redis() -> None:
            assert self.redis is not None
            await self.redis.ping()

        checks = {"database": database()}
        if self.redis is not None:
            checks["redis"] = redis()
        result: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check, 2)
                result[name] = "ok"
            except Exception as exc:
                # /readyz is public: no URL password or token in what it shows.
                result[name] = redact(f"unavailable: {type(exc).__name__}: {exc}")[:200]
        return result

    async def close(self) -> None:
        """Finish pending writes, stop background tasks, close connections."""
        await self.callbacks.close()
        await self.relay.stop()
        await asyncio.to_thread(self.renders.close)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.directory.stop()
        await self.writer.stop()
        close = getattr(self.broker, "close", None)
        if close is not None:
            await close()
        if self.redis is not None:
            await self.redis.aclose()
        if self.engine.dialect.name == "sqlite":
            with contextlib.suppress(Exception):
                async with self.engine.connect() as conn:
                    # Best effort: if a reader still holds an old snapshot, give up after 1 s
                    # instead of the 30 s busy timeout (the WAL is checkpointed at next start).
                    await conn.exec_driver_sql("PRAGMA busy_timeout=1000")
                    await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        await self.engine.dispose()

    async def _prune(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_EVERY_S)
            try:
                now = self.clock.now_ms()
                await self.history.prune(keep_refusals=self.settings.refusals_kept, now_ms=now)
                await self.outbox.prune(now, self.settings.relay_retention_days * 86_400_000)
                await self.outgoing.prune(now)
                # Retention: a bounded run (the rest waits a minute), one instance at a time.
                report = await self.archive.prune(max_batches=PRUNE_BATCHES)
                if report.deleted:
                    log.info("retention removed %d messages", report.deleted)
            except Exception as exc:
                log.warning("pruning failed: %s", exc)

    async def _overflow(self) -> None:
        """Post the summaries of ``digest`` robots' held messages as their windows open."""
        while True:
            await asyncio.sleep(OVERFLOW_EVERY_S)
            try:
                await self.flush_overflow()
            except Exception as exc:
                log.warning("overflow summaries failed: %s", exc)

    async def flush_overflow(self) -> int:
        """One round of overflow summaries; returns how many were posted."""
        posted = 0
        for robot_id in await self.outbox.robots_with_held():
            try:
                robot = await self.robot_store.get_robot(robot_id)
                view = await self.directory.get(robot.access_token)
            except NotFound:
                view = None
            if await self.hub.flush_overflow(robot_id, view) is not None:
                posted += 1
        return posted

    async def _checkpoint(self) -> None:
        # wal_autocheckpoint is off so no request's commit pays for a checkpoint; run it here.
        while True:
            await asyncio.sleep(CHECKPOINT_EVERY_S)
            try:
                async with self.engine.connect() as conn:
                    await conn.execute(sa.text("PRAGMA wal_checkpoint(PASSIVE)"))
            except Exception as exc:
                log.warning("WAL checkpoint failed: %s", exc)
