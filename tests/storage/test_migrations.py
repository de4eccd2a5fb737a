"""The migrations produce exactly the schema the code declares, on every backend."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from gong.config import Settings
from gong.storage.database import MIGRATIONS, _alembic_config, migrate, open_database
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


def _state(connection: Connection) -> tuple[str, set[str]]:
    version = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    return str(version), set(sa.inspect(connection).get_table_names())


async def test_the_newest_revision_downgrades_and_upgrades_again(db_settings: Settings) -> None:
    """``0007_ignored_events`` goes down to ``0006_alerts`` and back up to exactly the declared
    schema, keeping the rows it did not add."""

    def down(connection: Connection) -> None:
        command.downgrade(_alembic_config(connection), "0006_alerts")

    def up(connection: Connection) -> None:
        command.upgrade(_alembic_config(connection), "head")

    engine = await open_database(db_settings)
    try:
        async with engine.begin() as conn:
            version, tables = await conn.run_sync(_state)
            assert (version, "ignored_events" in tables) == ("0007_ignored_events", True)
            await conn.execute(
                sa.text("INSERT INTO groups (name, created_at, timezone) VALUES ('g', 1, 'UTC')")
            )
        async with engine.begin() as conn:
            await conn.run_sync(down)
        async with engine.connect() as conn:
            version, tables = await conn.run_sync(_state)
            names = (await conn.execute(sa.text("SELECT name FROM groups"))).scalars().all()
        assert (version, "ignored_events" in tables, "alert_marks" in tables) == (
            "0006_alerts",
            False,
            True,
        )
        assert names == ["g"]
        async with engine.begin() as conn:
            await conn.run_sync(up)
        async with engine.connect() as conn:
            assert await conn.run_sync(_state) == (
                "0007_ignored_events",
                tables | {"ignored_events"},
            )
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


def test_the_revisions_form_one_chain() -> None:
    """Each revision names the one before it; the newest is the head the code expects."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    assert scripts.get_heads() == ["0007_ignored_events"]
    chain = [script.revision for script in scripts.walk_revisions()]
    assert chain == [
        "0007_ignored_events",
        "0006_alerts",
        "0005_limiter",
        "0004_outgoing",
        "0003_relay",
        "0002_web",
        "0001_core",
    ]
