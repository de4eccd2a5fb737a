"""The send path's cache of robot views, keyed by access_token.

A view is loaded once and served from memory. Every change to robots, groups or members bumps
``meta.config_version``; a poller checks it every ``config_refresh_seconds`` (at most 1 s) and,
when it moved, reloads every cached view in one bulk read and swaps the cache at once — requests
keep being served from the previous views meanwhile, instead of all missing together. A change
made through this process drops the cache at once (:meth:`Directory.invalidate`). Unknown tokens
are cached too, so a flood of bad tokens costs one lookup each; concurrent misses of one token
share one lookup.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from gong.domain.models import RobotView
from gong.storage.repository import Repository

__all__ = ["Directory"]

log = logging.getLogger(__name__)

MAX_TOKEN_LENGTH = 64
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

    def invalidate(self) -> None:
        """Forget every cached view (after a change made in this process)."""
        self._generation += 1
        self._cache.clear()

    async def refresh(self) -> None:
        """Reload every cached view in one bulk read, then swap them in together."""
        generation = self._generation
        tokens = list(self._cache)
        views = await self._repository.robot_views(tokens)
        if generation != self._generation:
            return  # dropped meanwhile: the next misses load fresh views
        self._generation += 1
        self._cache = {token: views.get(token) for token in tokens}

    async def start(self) -> None:
        self._version = await self._repository.config_version()
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
                    await self.refresh()
                    self._version = version
            except Exception as exc:  # the database may be briefly away; keep serving the cache
                log.warning("could not refresh robot views: %s", exc)
