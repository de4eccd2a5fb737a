"""Entry point for ASGI servers: ``uvicorn --factory gong.web.factory:app_from_env``."""

from __future__ import annotations

import logging

from gong.config import Settings
from gong.web.app import GongApp, create_app

__all__ = ["app_from_env"]


def app_from_env() -> GongApp:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return create_app(settings)
