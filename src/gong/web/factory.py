"""Entry point for ASGI servers: ``uvicorn --factory gong.web.factory:app_from_env``."""

from __future__ import annotations

import gc

from gong.config import Settings
from gong.logs import configure_logging
from gong.web.app import GongApp, create_app

__all__ = ["app_from_env"]

#: Collections of the youngest generation happen after this many allocations (default 700): a
#: request allocates a few hundred objects that die young, so collecting that often is waste.
GC_THRESHOLD = (20_000, 20, 20)


def app_from_env() -> GongApp:
    """The app a server process runs, with process-wide tuning that only a server should do."""
    settings = Settings.load()
    configure_logging(settings)
    gc.set_threshold(*GC_THRESHOLD)
    app = create_app(settings)
    app.freeze_after_startup = True
    return app
