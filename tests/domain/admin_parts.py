"""Real parts for the administration services' tests: a migrated database of the backend under
test, and the two seams a test may record — who was told of a change, which URLs were checked."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncEngine

from gong.config import Settings
from gong.domain.errors import Invalid
from gong.storage.database import open_database
from gong.storage.rows import read_config_version

__all__ = ["Addresses", "Changes", "config_version", "migrated"]


class Changes:
    """A :class:`~gong.domain.robot_admin.ChangeListener` that records what it was told."""

    def __init__(self) -> None:
        self.seen: list[int | None] = []

    async def __call__(self, robot_id: int | None) -> None:
        self.seen.append(robot_id)

    def take(self) -> list[int | None]:
        """What was told since the last call."""
        seen, self.seen = self.seen, []
        return seen


class Addresses:
    """An :data:`~gong.domain.robot_admin.AddressCheck` that records each URL it is asked
    about and refuses those containing one of ``refused``."""

    def __init__(self, *refused: str) -> None:
        self.refused = refused
        self.checked: list[str] = []

    async def __call__(self, url: str) -> None:
        self.checked.append(url)
        for part in self.refused:
            if part in url:
                raise Invalid(f"{url} points somewhere refused")


@contextlib.asynccontextmanager
async def migrated(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The configured database (a SQLite file, or PostgreSQL), migrated."""
    engine = await open_database(settings, pool_size=2)
    try:
        yield engine
    finally:
        await engine.dispose()


async def config_version(engine: AsyncEngine) -> int:
    return await read_config_version(engine)
