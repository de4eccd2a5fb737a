from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gong.clock import ManualClock
from gong.config import Settings
from gong.runtime import Runtime


@pytest.fixture
async def runtime(db_settings: Settings, clock: ManualClock) -> AsyncIterator[Runtime]:
    """A runtime on each database backend in turn."""
    rt = await Runtime.open(db_settings, clock=clock)
    try:
        yield rt
    finally:
        await rt.close()
