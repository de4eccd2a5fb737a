"""The migrations produce exactly the schema the code declares, on every backend."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from gong.config import Settings
from gong.storage.database import migrate, open_database
from gong.storage.schema import metadata


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_matches_metadata(db_settings: Settings) -> None:
    engine = await open_database(db_settings)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
        assert diff == []
        await migrate(engine, db_settings)  # a second start is a no-op
    finally:
        await engine.dispose()
