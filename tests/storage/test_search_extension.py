"""PostgreSQL without pg_trgm, and a database role that may not create it: Gong stops at start
with one line that says what to run, instead of a stack trace or a search that cannot work."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from gong.config import Settings
from gong.domain.errors import Unavailable
from gong.storage.database import open_database
from tests.conftest import _pg_available, _pg_exec
from tests.helpers import PG_ADMIN_URL, need


async def test_a_role_that_may_not_create_pg_trgm_gets_one_clear_line(tmp_path: Path) -> None:
    ok, reason = _pg_available()
    need("PostgreSQL", ok, reason)
    name = f"gong_noext_{uuid.uuid4().hex[:8]}"
    role = f"gong_role_{uuid.uuid4().hex[:8]}"
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    await _pg_exec(
        PG_ADMIN_URL,
        f'CREATE DATABASE "{name}"',
        f'CREATE ROLE "{role}" LOGIN',
    )
    try:
        # The role owns the schema it writes to, but may not create extensions in the database.
        await _pg_exec(
            f"{base}/{name}",
            f'GRANT ALL ON SCHEMA public TO "{role}"',
            f'REVOKE CREATE ON DATABASE "{name}" FROM PUBLIC',
        )
        url = f"postgresql://{role}@127.0.0.1:5432/{name}"
        settings = Settings(data_dir=tmp_path / "data", database_url=url)
        with pytest.raises(Unavailable) as caught:
            await open_database(settings)
        text = caught.value.message
        assert "Gong's search needs PostgreSQL's pg_trgm extension" in text
        assert f'CREATE EXTENSION pg_trgm; in database "{name}"' in text
        assert "docs/history.md" in text
        # As a superuser creates it, the same start goes through.
        await _pg_exec(f"{base}/{name}", "CREATE EXTENSION pg_trgm")
        engine = await open_database(settings)
        await engine.dispose()
    finally:
        await _pg_exec(
            PG_ADMIN_URL,
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            f'DROP ROLE IF EXISTS "{role}"',
        )
