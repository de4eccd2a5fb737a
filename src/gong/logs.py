"""Logging: one line per record, as text for people or JSON for collectors, each carrying the
id of the request it belongs to. Secrets (tokens, signatures, passwords) are never logged: the
access log records the path without its query string."""

from __future__ import annotations

import contextvars
import itertools
import logging
import secrets
import sys
import time
from typing import Any

import orjson

from gong.config import Settings

__all__ = ["JsonFormatter", "configure_logging", "new_request_id", "request_id"]

#: The id of the request being handled, for log records and the ``X-Request-ID`` header.
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")


#: Fresh ids are this process's random prefix and a counter: unique, and cheap on the hot path.
_PREFIX = secrets.token_hex(4)
_COUNTER = itertools.count(1)


def new_request_id(offered: bytes | None = None) -> str:
    """The caller's ``X-Request-ID`` when it is short and plain, else a fresh id."""
    if offered and len(offered) <= 64:
        text = offered.decode("latin-1")
        if set(text) <= _SAFE:
            return text
    return f"{_PREFIX}{next(_COUNTER):08x}"


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id", …extra, "exception"}``."""

    _STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "request_id"}

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(data, default=str).decode()


def configure_logging(settings: Settings) -> None:
    """Route every logger (Gong's, uvicorn's, SQLAlchemy's) through one handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if settings.log_format == "json":
        formatter: logging.Formatter = JsonFormatter()
        formatter.converter = time.gmtime
    else:
        formatter = logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
        )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Migrations say a few lines at every start; keep them at debug.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
