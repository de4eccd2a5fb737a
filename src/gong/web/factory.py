"""Entry point for ASGI servers: ``uvicorn --factory gong.web.factory:app_from_env``."""

from __future__ import annotations

from gong.config import Settings
from gong.logs import configure_logging
from gong.web.app import GongApp, create_app

__all__ = ["app_from_env"]


def app_from_env() -> GongApp:
    settings = Settings()
    configure_logging(settings)
    return create_app(settings)
