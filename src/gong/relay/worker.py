"""The relay worker: one lane per relayed robot, forwarding its outbox to the upstream.

A lane (held through a lease in the database, so one process works a robot at a time) repeats
one :meth:`RelayWorker.step`: retry the robot's open send when it is due; otherwise plan the
next send from the queue (:func:`gong.domain.digest.plan`: the oldest message as it is, or a
digest of the backlog, or wait for the pace) and record it — with its msgUuid — before making
it. Each attempt takes a slot from the pacer and is logged in the database first, so neither a
retry nor a restart can push the upstream past its limit, and a send repeated after a crash
carries the same msgUuid, which the upstream deduplicates.

Digests list each message with an excerpt and, when Gong has a public URL, a link to the
message in its group; their times are on the group's clock. Repeats counted by the quiet window
go only into digests. A message too large for one upstream message is sent as the upstream's
``fit`` says: one summary pointing at the whole message in Gong, or numbered parts recorded
together, each its own send with its own msgUuid, sent in order through the pacer.

Answers decide what follows: errcode 0 marks the deliveries sent (or digested); network
errors, HTTP 5xx and errcode -1 are retried with exponential backoff; a throttle answer pauses
the upstream for its block time; anything else (signature, keyword, token, …) dead-letters the
send with the upstream's errcode and errmsg. Requests go through the outbound guard
(:mod:`gong.relay.targets`): an upstream that points somewhere the relay may not send, or that
answers with a redirect, dead-letters the send with the reason, and nothing is followed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable

import httpx

from gong.clock import Clock
from gong.domain.digest import (
    Action,
    Plan,
    fit_upstream,
    fits_alone,
    fold_pending,
    oversize_pointer,
    plan,
)
from gong.domain.errors import NotFound
from gong.domain.models import Delivery, Robot, Upstream, UpstreamFit, UpstreamSend
from gong.domain.ports import Pacer, RobotStore
from gong.domain.timetext import server_zone, zone_for
from gong.outgoing.guard import Guard, TargetRefused
from gong.protocol.messages import encode, parse_message
from gong.relay.targets import UpstreamRedirected, UpstreamTransport
from gong.sdk.client import AsyncRobot
from gong.sdk.errors import HTTPStatusError, RateLimitedError, RobotSendError
from gong.storage.outbox import Outbox

__all__ = ["RelayWorker"]

log = logging.getLogger(__name__)

#: A lane's lease on its robot; renewed well before it runs out.
LEASE_MS = 30_000
#: Most queued messages read to fold one digest (a digest holds a few hundred at most).
FOLD_WINDOW = 1_000
#: First pause after a failed attempt, doubled for each further one.
BACKOFF_MS = 1_000


class RelayWorker:
    """Runs the lanes of every robot with something to deliver.

    Every request connects through ``guard`` (:func:`gong.relay.targets.upstream_guard`);
    ``transport`` replaces the guarded connection (tests), redirects are refused either way.
    ``message_url`` (``Settings.message_url``: only with ``GONG_PUBLIC_URL``) lets digests and
    summaries link each message in Gong; ``timezone`` (``GONG_TIMEZONE``) is the clock of groups
    that set none (default: the machine's).
    """

    def __init__(
        self,
        *,
        guard: Guard,
        outbox: Outbox,
        robots: RobotStore,
        pacer: Pacer,
        clock: Clock,
        poll_seconds: float = 0.5,
        timeout_seconds: float = 10.0,
        max_attempts: int = 25,
        backoff_max_seconds: int = 300,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_outcome: Callable[[str], None] | None = None,
        message_url: Callable[[int, int], str | None] | None = None,
        timezone: str | None = None,
    ) -> None:
        self.guard = guard
        self.message_url = message_url
        self.timezone = timezone or server_zone()
        self.outbox = outbox
        #: Called with ``sent``, ``retry``, ``throttled`` or ``failed`` after each attempt.
        self.on_outcome = on_outcome
        self.robots = robots
        self.pacer = pacer
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.max_attempts = max_attempts
        self.backoff_max_ms = backoff_max_seconds * 1000
        self.owner = uuid.uuid4().hex
        self._transport = transport
        self._sleep = sleep
        self._clients: dict[int, tuple[tuple[str, str | None], AsyncRobot]] = {}
        self._lanes: dict[int, asyncio.Task[None]] = {}
        #: Robots whose lane another process holds: not tried again before this time (ms).
        self._elsewhere: dict[int, int] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self, *, sole_process: bool = False) -> None:
        """Start looking for work; ``sole_process`` (SQLite) clears leases a crash left."""
        if sole_process:
            await self.outbox.clear_lanes()
        self._task = asyncio.create_task(self._run(), name="gong-relay")

    async def stop(self) -> None:
        """Stop every lane (an interrupted send stays pending and is repeated, deduplicated)."""
        tasks = [t for t in (self._task, *self._lanes.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None
        self._lanes.clear()
        for _, client in self._clients.values():
            await client.aclose(flush=False)
        self._clients.clear()

    def notify(self, robot_id: int | None = None) -> None:
        """Something was queued for ``robot_id``: look now rather than at the next poll (a
        running lane of that robot finds it by itself)."""
        lane = self._lanes.get(robot_id) if robot_id is not None else None
        if lane is None or lane.done():
            self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                now = self.clock.now_ms()
                for robot_id in await self.outbox.robots_with_work():
                    lane = self._lanes.get(robot_id)
                    if self._elsewhere.get(robot_id, 0) > now:
                        continue
                    if lane is None or lane.done():
                        self._lanes[robot_id] = asyncio.create_task(
                            self._lane(robot_id), name=f"gong-relay-{robot_id}"
                        )
                for robot_id in [r for r, t in self._lanes.items() if t.done()]:
                    del self._lanes[robot_id]
            except Exception as exc:  # the database may be briefly away
                log.warning("relay: could not look for work: %s", exc)
            self._wake.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
            # that arrives as the wake-up does, and stop() would wait for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()

    async def _lane(self, robot_id: int) -> None:
        try:
            await self._work(robot_id)
        except Exception as exc:  # the database went away: the next poll starts the lane again
            log.warning("relay: robot %d: lane stopped: %s", robot_id, exc)

    async def _work(self, robot_id: int) -> None:
        """Step the robot's lane while it has work and this process holds its lease."""
        now = self.clock.now_ms()
        if not await self.outbox.acquire_lane(robot_id, self.owner, now, LEASE_MS):
            self._elsewhere[robot_id] = now + LEASE_MS // 6
            return
        self._elsewhere.pop(robot_id, None)
        renewed = now
        failures = 0
        try:
            await self.restore_pace(robot_id)
            while True:
                try:
                    next_at = await self.step(robot_id)
                    failures = 0
                except Exception:
                    failures += 1
                    log.exception("relay: robot %d: step failed", robot_id)
                    next_at = self.clock.now_ms() + min(30_000, 1_000 << min(failures, 5))
                if next_at is None:
                    return
                now = self.clock.now_ms()
                if now - renewed > LEASE_MS // 3:
                    if not await self.outbox.acquire_lane(robot_id, self.owner, now, LEASE_MS):
                        return
                    renewed = now
                delay = min(max(0, next_at - now), LEASE_MS // 3)
                if delay:
                    await self._sleep(delay / 1000)
        finally:
            with contextlib.suppress(Exception):
                await self.outbox.release_lane(robot_id, self.owner)

    async def restore_pace(self, robot_id: int) -> None:
        """Count the upstream's recent sends, made before a restart or by another process."""
        with contextlib.suppress(NotFound):
            upstream = (await self.robots.get_robot(robot_id)).upstream
            if upstream is not None:
                history = await self.outbox.pace_history(self.clock.now_ms(), upstream.key)
                times, paused = history.get(upstream.key, ([], 0))
                await self.pacer.restore(upstream.key, times, paused)

    # -- one step of a lane ---------------------------------------------------------------------

    async def step(self, robot_id: int) -> int | None:
        """Do the next thing for the robot; returns when to step again (ms), None when idle."""
        now = self.clock.now_ms()
        try:
            robot = await self.robots.get_robot(robot_id)
        except NotFound:
            return None  # deleted: its deliveries went with it
        upstream = robot.upstream
        if upstream is None:
            failed = await self.outbox.fail_queued(robot_id, "the robot has no upstream", now)
            if failed:
                log.warning(
                    "relay: robot %d has no upstream; %d deliveries failed", robot_id, failed
                )
            return None
        send = await self.outbox.open_send(robot_id)
        if send is None:
            queue = await self.outbox.queue(robot_id)
            if queue.empty:
                return None
            due = None
            if queue.oldest_repeat_at is not None:
                due = queue.oldest_repeat_at + robot.dedupe_window_s * 1000
            if queue.messages == 0 and due is not None and now < due:
                return due  # repeats alone wait out their quiet window
            pace = await self.pacer.state(upstream.key, upstream.limit, upstream.window_ms, now)
            decision = plan(
                queue.messages, pace, upstream.limit, upstream.window_ms, now, repeats_due_at=due
            )
            if decision.action is Action.WAIT:
                return decision.at
            send = await self._plan_send(robot, upstream, decision, now)
        if send.next_attempt_at > now:
            return send.next_attempt_at
        return await self._attempt(robot_id, send, upstream, now)

    async def _plan_send(
        self, robot: Robot, upstream: Upstream, decision: Plan, now: int
    ) -> UpstreamSend:
        robot_id = robot.id
        if decision.action is Action.SINGLE:
            [first] = await self.outbox.queued(robot_id, 1, repeats=False)
            if fits_alone(first.content):
                return await self.outbox.create_send(
                    robot_id, "single", first.content, [first.id], now
                )
            return await self._plan_oversized(robot, upstream, first, now)
        queued = await self.outbox.queued(robot_id, FOLD_WINDOW)
        group = await self.outbox.group(robot.group_id)
        tz = zone_for(group.timezone if group is not None else None, self.timezone)
        folded = fold_pending(
            queued, keyword=upstream.keyword, tz=tz, full_url=self._linker(robot.group_id)
        )
        content = folded.digest.message.to_wire()
        return await self.outbox.create_send(robot_id, "digest", content, folded.deliveries, now)

    def _linker(self, group_id: int) -> Callable[[int], str | None]:
        """The link to a message of the group in Gong's web app (None without a public URL)."""
        link = self.message_url
        return lambda message_id: link(group_id, message_id) if link is not None else None

    async def _plan_oversized(
        self, robot: Robot, upstream: Upstream, delivery: Delivery, now: int
    ) -> UpstreamSend:
        """A message too large for one upstream message: its summary, or its numbered parts
        (recorded together; the first is returned)."""
        mid = delivery.message_id
        group = await self.outbox.group(robot.group_id)
        url = self._linker(robot.group_id)(mid) if mid is not None else None
        pointer = oversize_pointer(
            len(encode(delivery.content)),
            alerts=await self.outbox.alert_count(mid) if mid is not None else None,
            url=url,
            group=group.name if group is not None else "",
            group_id=robot.group_id,
            message_id=mid,
        )
        contents = fit_upstream(delivery.content, upstream.fit, pointer, upstream.keyword)
        if upstream.fit is not UpstreamFit.SPLIT:
            return await self.outbox.create_send(
                robot.id, "summary", contents[0], [delivery.id], now
            )
        parts = await self.outbox.create_split(robot.id, contents, [delivery.id], now)
        return parts[0]

    async def _attempt(
        self, robot_id: int, send: UpstreamSend, upstream: Upstream, now: int
    ) -> int:
        key = upstream.key
        if not await self.pacer.take(key, upstream.limit, upstream.window_ms, now):
            pace = await self.pacer.state(key, upstream.limit, upstream.window_ms, now)
            return max(now + 1, pace.next_free_at)
        await self.outbox.begin_attempt(send.id, key, now)
        attempts = send.attempts + 1
        message = parse_message(send.content).model_copy(update={"msgUuid": send.msg_uuid})
        try:
            client = await self._client(robot_id, upstream)
            await client.send(message)
        except RateLimitedError as exc:
            until = self.clock.now_ms() + upstream.block_s * 1000
            await self.pacer.pause(key, until)
            await self.outbox.pause_upstream(key, until)
            await self.outbox.retry_later(send.id, until, exc.errcode, exc.errmsg)
            self._outcome("throttled")
            log.warning(
                "relay: robot %d: upstream throttled (%s); pausing %d s",
                robot_id,
                exc.errcode,
                upstream.block_s,
            )
            return until
        except RobotSendError as exc:
            later = self.clock.now_ms()
            transient = exc.retryable or (isinstance(exc, HTTPStatusError) and exc.status == 429)
            if transient and attempts < self.max_attempts:
                at = later + min(self.backoff_max_ms, BACKOFF_MS << min(attempts - 1, 30))
                await self.outbox.retry_later(send.id, at, exc.errcode, exc.errmsg)
                self._outcome("retry")
                log.info(
                    "relay: robot %d: send %d failed (%s); retry at %d", robot_id, send.id, exc, at
                )
                return at
            errmsg = (
                exc.errmsg if not transient else f"gave up after {attempts} attempts: {exc.errmsg}"
            )
            await self.outbox.mark_failed(send.id, exc.errcode, errmsg, later)
            self._outcome("failed")
            log.warning("relay: robot %d: send %d dead-lettered: %s", robot_id, send.id, exc)
            return later
        except (TargetRefused, UpstreamRedirected, httpx.InvalidURL) as exc:
            later = self.clock.now_ms()
            reason = exc.message if isinstance(exc, TargetRefused) else str(exc)
            if isinstance(exc, httpx.InvalidURL):
                reason = f"the upstream URL is not valid: {reason}"
            await self.outbox.mark_failed(send.id, None, reason, later)
            self._outcome("failed")
            log.warning("relay: robot %d: send %d not sent: %s", robot_id, send.id, reason)
            return later
        later = self.clock.now_ms()
        await self.outbox.mark_sent(send, later)
        self._outcome("sent")
        return later

    def _outcome(self, outcome: str) -> None:
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    async def _client(self, robot_id: int, upstream: Upstream) -> AsyncRobot:
        ident = (upstream.url, upstream.secret)
        cached = self._clients.get(robot_id)
        if cached is not None and cached[0] == ident:
            return cached[1]
        client = AsyncRobot(
            upstream.url,
            upstream.secret,
            timeout=self.timeout_seconds,
            retries=0,  # the lane retries, with its own backoff and bookkeeping
            auto_at=False,  # forward what was accepted, as it was
            auto_uuid=False,
            transport=UpstreamTransport(self.guard, self._transport),
            clock=self.clock,
        )
        self._clients[robot_id] = (ident, client)
        if cached is not None:  # the upstream changed
            await cached[1].aclose(flush=False)
        return client
