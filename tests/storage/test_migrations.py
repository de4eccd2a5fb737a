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
from gong.storage.schema import in_metadata, metadata


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": in_metadata}
    )
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
    """From the newest revision down to ``0007_ignored_events`` (below the search index,
    recall, retention and leases of ``0008_history``) and back up to exactly the declared
    schema, keeping the rows it did not add and indexing the messages already stored."""

    def down(connection: Connection) -> None:
        command.downgrade(_alembic_config(connection), "0007_ignored_events")

    def up(connection: Connection) -> None:
        command.upgrade(_alembic_config(connection), "head")

    content = '{"msgtype":"text","text":{"content":"数据库连接池耗尽"}}'
    engine = await open_database(db_settings)
    try:
        async with engine.begin() as conn:
            version, tables = await conn.run_sync(_state)
            assert (version, "message_search" in tables) == ("0010_refusal_hints", True)
            await conn.execute(
                sa.text("INSERT INTO groups (name, created_at, timezone) VALUES ('g', 1, 'UTC')")
            )
        async with engine.begin() as conn:
            await conn.run_sync(down)
        async with engine.begin() as conn:
            version, tables = await conn.run_sync(_state)
            names = (await conn.execute(sa.text("SELECT name FROM groups"))).scalars().all()
            await conn.execute(
                sa.text(
                    "INSERT INTO messages (group_id, sender_type, sender_name, msgtype, payload, "
                    "content, created_at) SELECT id, 'robot', 'r', 'text', '{}', :c, 1 FROM groups"
                ),
                {"c": content},
            )
        assert (version, "message_search" in tables, "leases" in tables) == (
            "0007_ignored_events",
            False,
            False,
        )
        assert not any(t.startswith("message_fts") for t in tables)
        assert names == ["g"]
        async with engine.begin() as conn:
            await conn.run_sync(up)
        async with engine.connect() as conn:
            assert await conn.run_sync(_state) == (
                "0010_refusal_hints",
                tables
                | {"message_search", "leases", "push_subscriptions"}
                | (await conn.run_sync(_fts_tables)),
            )
            assert await conn.run_sync(_diff) == []
            body = (await conn.execute(sa.text("SELECT body FROM message_search"))).scalar_one()
        assert body == "数据库连接池耗尽"  # messages stored before are indexed
    finally:
        await engine.dispose()


def _fts_tables(connection: Connection) -> set[str]:
    return {t for t in sa.inspect(connection).get_table_names() if t.startswith("message_fts")}


def test_the_revisions_form_one_chain() -> None:
    """Each revision names the one before it; the newest is the head the code expects."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    assert scripts.get_heads() == ["0010_refusal_hints"]
    chain = [script.revision for script in scripts.walk_revisions()]
    assert chain == [
        "0010_refusal_hints",
        "0009_preferences",
        "0008_history",
        "0007_ignored_events",
        "0006_alerts",
        "0005_limiter",
        "0004_outgoing",
        "0003_relay",
        "0002_web",
        "0001_core",
    ]
