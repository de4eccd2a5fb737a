"""The send path's cache of robot views, keyed by access_token.

At start the directory loads the views of every robot (up to :data:`MAX_ENTRIES`) in one bulk
read, so no request ever waits on a lookup of a known robot, however many there are. Every
change to robots, groups or members bumps ``meta.config_version``:

- a change made through this process calls :meth:`Directory.changed`, which reloads at once
  (the API answers after the new views are in place);
- a change made elsewhere (the CLI, another instance) is seen by a poller that checks the
  version every ``config_refresh_seconds`` (at most 1 s) and reloads.

A reload swaps the whole cache in one step; requests are served from the previous views
meanwhile, never all missing together. A token not in the cache (a robot created since the
last reload, or a wrong token) is looked up once — concurrent misses share the lookup — and the
answer, found or not, is cached until the next reload.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from gong.domain.models import RobotView
from gong.storage.repository import Repository

__all__ = ["MAX_ENTRIES", "Directory"]

log = logging.getLogger(__name__)

MAX_TOKEN_LENGTH = 64
#: Most robot views kept (and preloaded); the newest robots are preloaded first.
MAX_ENTRIES = 100_000


class Directory:
    def __init__(self, repository: Repository, refresh_seconds: float) -> None:
        self._repository = repository
        self._refresh = refresh_seconds
        self._cache: dict[str, RobotView | None] = {}
        self._loading: dict[str, asyncio.Future[RobotView | None]] = {}
        self._generation = 0
        self._version: int | None = None
        self._task: asyncio.Task[None] | None = None
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
            view = await self._repository.robot_view(access_token)
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
        self._task = asyncio.create_task(self._poll(), name="gong-directory")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._refresh)
            try:
                version = await self._repository.config_version()
                if version != self._version:
                    await self.reload()
                    self._version = version
            except Exception as exc:  # the database may be briefly away; keep serving the cache
                log.warning("could not reload robot views: %s", exc)
