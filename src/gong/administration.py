"""The administration services wired to this deployment's storage, guard and integrations.

A server builds them inside its :class:`~gong.runtime.Runtime` (changes then reach its caches at
once); a CLI command opens them on the database alone (:func:`open_administration`), and the
servers notice its changes through the configuration version they poll.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gong.clock import Clock, SystemClock
from gong.config import Settings
from gong.domain.admin_tokens import AdminTokens
from gong.domain.groups import Groups
from gong.domain.history import Announce, Archive
from gong.domain.models import IgnoredEvent, RobotKind, StoredMessage
from gong.domain.ports import Limiter
from gong.domain.robot_admin import ChangeListener, Robots
from gong.domain.search import Search
from gong.integrations.config import allowed_settings, check_robot_settings, showing
from gong.outgoing.guard import Guard
from gong.relay.targets import upstream_guard
from gong.storage.groups import SqlGroups
from gong.storage.history import SqlHistory
from gong.storage.robots import SqlRobots
from gong.storage.search import SqlSearch
from gong.storage.tokens import SqlAdminTokens

__all__ = ["Administration", "IntegrationSettings", "administration", "open_administration"]


class IntegrationSettings:
    """The kinds' own settings, as :mod:`gong.integrations.config` rules them."""

    def check(self, kind: RobotKind, settings: Mapping[str, Any]) -> dict[str, Any]:
        return check_robot_settings(kind, settings)

    def owned(self, kind: RobotKind) -> frozenset[str]:
        return allowed_settings(kind)

    def showing(
        self, settings: Mapping[str, Any], ignored: Sequence[IgnoredEvent]
    ) -> dict[str, Any]:
        return showing(settings, ignored)


@dataclass(frozen=True, slots=True)
class Administration:
    engine: AsyncEngine
    groups: Groups
    robots: Robots
    tokens: AdminTokens
    history: SqlHistory
    #: Recall, retention and export of messages.
    archive: Archive
    search: Search


async def _nobody(robot_id: int | None) -> None:
    """A CLI process has no cache: servers see the new configuration version."""


async def _no_readers(message: StoredMessage) -> None:
    """A CLI process has no live readers: servers' readers see a recall when they reload."""


def administration(
    engine: AsyncEngine,
    settings: Settings,
    clock: Clock,
    *,
    on_change: ChangeListener = _nobody,
    limiter: Limiter | None = None,
    on_recalled: Announce = _no_readers,
    holder: str = "cli",
) -> Administration:
    """The services over ``engine``; ``on_change`` is awaited after every change."""
    group_store = SqlGroups(engine)
    history = SqlHistory(engine)
    return Administration(
        engine=engine,
        groups=Groups(group_store, clock, on_change),
        robots=Robots(
            store=SqlRobots(engine),
            groups=group_store,
            clock=clock,
            kinds=IntegrationSettings(),
            check_upstream_address=upstream_guard(settings).check_url,
            check_outgoing_address=Guard(settings).check_url,
            on_change=on_change,
            limiter=limiter,
        ),
        tokens=AdminTokens(SqlAdminTokens(engine), clock, settings.admin_token),
        history=history,
        archive=Archive(history, clock, on_recalled=on_recalled, holder=holder),
        search=Search(SqlSearch(engine)),
    )


@contextlib.asynccontextmanager
async def open_administration(
    settings: Settings, clock: Clock | None = None
) -> AsyncIterator[Administration]:
    """The configured database, migrated, with the services over it; closed on exit."""
    from gong.storage.database import open_database

    engine = await open_database(settings, pool_size=2)
    try:
        yield administration(engine, settings, clock or SystemClock())
    finally:
        await engine.dispose()
