"""Alembic environment: Gong runs migrations itself at start (``gong.storage.database``), handing
Alembic an open connection; ``alembic`` on the command line uses ``GONG_*`` settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from gong.storage.schema import in_metadata, metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=in_metadata,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_from_settings() -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from gong.config import Settings

    async def main() -> None:
        engine = create_async_engine(Settings.load().sqlalchemy_url, hide_parameters=True)
        async with engine.begin() as conn:
            await conn.run_sync(_run)
        await engine.dispose()

    asyncio.run(main())


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    _run_from_settings()
