"""Logging: one line per record, as text for people or JSON for collectors, each carrying the
id of the request it belongs to.

Secrets (tokens, signatures, secrets, passwords, cookies) are never logged, in layers: uvicorn's
own access log (which writes query strings) is off for good and Gong's records the path alone;
libraries that log requests, headers or SQL with its values (httpx, httpcore, SQLAlchemy,
aiosqlite, …) log warnings only, whatever the level; Gong's messages carry no URL, header or
setting, and name a token, if at all, by its last four characters; and the one handler passes
every line, exception text and JSON fields included, through :func:`gong.redact.redact`.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import secrets
import sys
import time
from typing import Any, TextIO

import orjson

from gong.config import Settings
from gong.redact import redact

__all__ = [
    "QUIET_LOGGERS",
    "JsonFormatter",
    "RedactingHandler",
    "configure_logging",
    "new_request_id",
    "request_id",
]

#: The id of the request being handled, for log records and the ``X-Request-ID`` header.
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

#: Libraries that log requests (with their URL), headers, SQL parameters or rows, or message
#: text at DEBUG or INFO: they log warnings and errors only, whatever ``log_level`` says.
QUIET_LOGGERS = (
    "aiosqlite",
    "alembic",
    "asyncpg",
    "hpack",
    "httpcore",
    "httpx",
    "markdown_it",
    "multipart",
    "python_multipart",
    "redis",
    "sqlalchemy",
    "websockets",
)

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


class RedactingHandler(logging.StreamHandler[TextIO]):
    """Writes each formatted line — message, exception text, JSON fields — with its secrets
    redacted (:func:`gong.redact.redact`): the last layer, for what other layers missed."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(settings: Settings) -> None:
    """Route every logger (Gong's, uvicorn's, SQLAlchemy's) through one redacting handler.

    Runs in every server process: ``gong serve``, and each worker of ``--workers N``
    (:func:`gong.web.factory.app_from_env`), after uvicorn has set up its loggers.
    """
    handler = RedactingHandler(sys.stderr)
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
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # uvicorn's access log writes each request line with its query string (access_token, sign):
    # never. Its protocols log when this logger "has handlers", so it has none, does not
    # propagate, and is disabled besides. Gong's own access log is ``gong.access``.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers[:] = []
    uvicorn_access.propagate = False
    uvicorn_access.disabled = True
    quiet = max(logging.WARNING, root.level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(quiet)
