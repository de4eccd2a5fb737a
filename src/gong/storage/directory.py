"""The send path's cache of robot views, keyed by access_token.

A view is loaded once and served from memory until ``meta.config_version`` changes: a poller
checks it every ``config_refresh_seconds`` (at most 1 s), so a change made by another process
(the CLI, another instance) takes effect within that time; changes made through this process are
dropped from the cache at once. Unknown tokens are cached too, so a flood of bad tokens costs one
lookup each, not one per request.
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
        generation = self._generation
        view = await self._repository.robot_view(access_token)
        if generation == self._generation:
            if len(self._cache) >= MAX_ENTRIES:
                self._cache.clear()
            self._cache[access_token] = view
        return view

    def invalidate(self) -> None:
        """Forget every cached view (after a change made in this process)."""
        self._generation += 1
        self._cache.clear()

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
            except Exception as exc:  # the database may be briefly away; keep serving the cache
                log.warning("could not read the config version: %s", exc)
                continue
            if version != self._version:
                self._version = version
                self.invalidate()
