"""The send path's cache of robot views, keyed by access_token.

At start the directory loads the views of every robot (up to :data:`MAX_ENTRIES`) in one bulk
read, so no request ever waits on a lookup of a known robot, however many there are. Every
change to robots, groups or members bumps ``meta.config_version``:

- a change made through this process calls :meth:`Directory.changed`, which reloads at once
  (the API answers after the new views are in place);
- a change made elsewhere (the CLI, another instance) is seen by a poller that checks the
  version every ``config_refresh_seconds`` (at most 1 s) of the clock and reloads.

A reload swaps the whole cache in one step; requests are served from the previous views
meanwhile, never all missing together. A token not in the cache (a robot created since the
last reload, or a wrong token) is looked up once — concurrent misses share the lookup — and the
answer, found or not, is cached until the next reload.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from gong.clock import Clock
from gong.domain.models import RobotView
from gong.storage.poller import Poller

__all__ = ["MAX_ENTRIES", "Directory", "RobotViews"]

log = logging.getLogger(__name__)

MAX_TOKEN_LENGTH = 64
#: Most robot views kept (and preloaded); the newest robots are preloaded first.
MAX_ENTRIES = 100_000


class RobotViews(Protocol):
    """What the directory reads from storage (the robot store)."""

    async def robot_views(self, access_tokens: Sequence[str]) -> dict[str, RobotView]:
        """The views of the robots with these tokens (unknown tokens are left out)."""
        ...

    async def all_robot_views(self, limit: int) -> dict[str, RobotView]:
        """The views of up to ``limit`` robots, the newest first."""
        ...

    async def config_version(self) -> int:
        """``meta.config_version``: bumped by every change to robots, groups or members."""
        ...


class Directory:
    def __init__(self, repository: RobotViews, refresh_seconds: float, *, clock: Clock) -> None:
        self._repository = repository
        self._cache: dict[str, RobotView | None] = {}
        self._loading: dict[str, asyncio.Future[RobotView | None]] = {}
        self._generation = 0
        self._version: int | None = None
        self._poller = Poller(
            self._poll,
            refresh_seconds,
            clock,
            name="gong-directory",
            failure="could not reload robot views",
            logger=log,
        )
        self._reloading: asyncio.Lock | None = None

    async def get(self, access_token: str) -> RobotView | None:
        try:
            return self._cache[access_token]
        except KeyError:
            pass
        if len(access_token) > MAX_TOKEN_LENGTH:
            return None
        loading = self._loading.get(access_token)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[RobotView | None] = asyncio.get_running_loop().create_future()
        self._loading[access_token] = future
        generation = self._generation
        try:
            view = (await self._repository.robot_views([access_token])).get(access_token)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: the callers waiting on it get it re-raised
            raise
        finally:
            del self._loading[access_token]
        if generation == self._generation:
            if len(self._cache) >= MAX_ENTRIES:
                self._cache.clear()
            self._cache[access_token] = view
        future.set_result(view)
        return view

    async def reload(self) -> None:
        """Load every robot's view in bulk and swap them in together."""
        if self._reloading is None:
            self._reloading = asyncio.Lock()
        async with self._reloading:
            generation = self._generation
            views: dict[str, RobotView | None] = dict(
                await self._repository.all_robot_views(MAX_ENTRIES)
            )
            if generation == self._generation:
                self._generation += 1
                self._cache = views

    async def changed(self) -> None:
        """A change was made through this process: take it in before answering."""
        self._generation += 1  # a reload already running is stale: its result is dropped
        version = await self._repository.config_version()
        await self.reload()
        self._version = version  # the poller need not load this change a second time

    async def start(self) -> None:
        self._version = await self._repository.config_version()
        await self.reload()
        self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()

    async def _poll(self) -> None:
        """One check of the poller: reload if the version moved since the last load. A failure
        (the database may be briefly away) is logged by the poller; the cache keeps serving."""
        version = await self._repository.config_version()
        if version != self._version:
            await self.reload()
            self._version = version
