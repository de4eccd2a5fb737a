"""The relay migration creates exactly the tables ``schema.py`` declares, on both backends."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from gong.config import Settings
from gong.storage.database import open_database
from gong.storage.schema import in_metadata, metadata

RELAY_TABLES = {
    "relay_deliveries",
    "relay_sends",
    "relay_lanes",
    "relay_attempts",
    "relay_upstreams",
    "overflow_messages",
}


def _diff(connection: sa.Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": in_metadata}
    )
    return list(compare_metadata(context, metadata))


async def test_relay_tables_match_the_schema(db_settings: Settings) -> None:
    engine = await open_database(db_settings)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
            tables = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
            heads = set(
                (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalars()
            )
    finally:
        await engine.dispose()
    assert tables >= RELAY_TABLES
    assert heads == {"0010_refusal_hints"}  # 0003_relay is applied on the way there
    assert diff == []
